"""The gateway's RPC call: a reply later than RPC_TIMEOUT_SECONDS is a 503 ``service_timeout``; a timely one
leaves no timer behind to fire into whatever the green thread does next."""
from types import SimpleNamespace

import eventlet
import pytest

from gateway.api import Request, ServiceUnavailable


def request_to(delay: float, timeout: float = 0.05) -> Request:
    def call_async(*args, **kwargs):
        def result():
            eventlet.sleep(delay)
            return {"args": list(args)}
        return SimpleNamespace(result=result)

    proxy = SimpleNamespace(submit_application=SimpleNamespace(call_async=call_async))
    service = SimpleNamespace(intake_rpc=proxy, config={"RPC_TIMEOUT_SECONDS": timeout})
    return Request(service, SimpleNamespace(args={}), {}, None, None)


def test_a_late_reply_is_a_service_timeout():
    with pytest.raises(ServiceUnavailable) as err:
        request_to(delay=0.5).rpc("intake", "submit_application", "app-1")
    assert err.value.code == "service_timeout" and "intake" in err.value.message and err.value.status == 503


def test_a_timely_reply_cancels_its_timer():
    assert request_to(delay=0.0).rpc("intake", "submit_application", "app-1") == {"args": ["app-1"]}
    eventlet.sleep(0.1)   # past the timeout: a timer left armed would raise here


def test_a_timeout_of_the_callers_own_is_not_taken_for_the_services():
    with pytest.raises(eventlet.Timeout) as err, eventlet.Timeout(0.01) as outer:
        request_to(delay=0.5, timeout=5).rpc("intake", "submit_application", "app-1")
    assert err.value is outer
