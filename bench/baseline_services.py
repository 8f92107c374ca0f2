"""Bare-Nameko baselines measured in the same run as the suite (see run_all.py).

    python bench/baseline_services.py <amqp_uri> <http_port>

bench_front: an HTTP entrypoint that forwards the body to a trivial RPC method (the submit-path baseline);
bench_sink: a trivial event handler recording arrival latency (the event-path baseline).
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402

import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from nameko.events import event_handler  # noqa: E402
from nameko.rpc import RpcProxy, rpc  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402
from nameko.web.handlers import http  # noqa: E402

ARRIVALS = []


class BenchEcho:
    name = "bench_echo"

    @rpc
    def echo(self, body):
        return body


class BenchFront:
    name = "bench_front"
    echo = RpcProxy("bench_echo")

    @http("POST", "/forward")
    def forward(self, request):
        return json.dumps({"echo": self.echo.echo(request.get_data(as_text=True))})


class BenchSink:
    name = "bench_sink"

    @event_handler("bench_source", "tick")
    def on_tick(self, payload):
        ARRIVALS.append((payload["t"], time.time()))

    @rpc
    def stats(self):
        return ARRIVALS

    @rpc
    def reset(self):
        ARRIVALS.clear()


def main():
    amqp, port = sys.argv[1], sys.argv[2]
    runner = ServiceRunner({"AMQP_URI": amqp, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "max_workers": 10})
    for cls in (BenchEcho, BenchFront, BenchSink):
        runner.add_service(cls)
    stop = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn_n(lambda: stop.ready() or stop.send(1)))
    runner.start()
    print("ready", flush=True)
    stop.wait()
    runner.stop()


if __name__ == "__main__":
    main()
