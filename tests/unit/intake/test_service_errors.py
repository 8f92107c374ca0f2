"""Errors leave intake's RPCs as the shared classes the gateway rebuilds by name (no broker needed)."""
import pytest

from grassroots.errors import ERROR_CLASSES, Conflict, ValidationFailed
from intake.domain.calls import CallDefinitionInvalid
from intake.service import rpc


def test_a_domain_specific_error_subclass_is_sent_as_its_shared_base_with_code_and_details():
    @rpc
    def create_call(definition):
        raise CallDefinitionInvalid("call_definition_invalid", "申报通知配置有误", [{"path": "year"}])

    with pytest.raises(ValidationFailed) as exc:
        create_call({})
    assert type(exc.value) is ValidationFailed and type(exc.value).__name__ in ERROR_CLASSES
    assert (exc.value.code, exc.value.details) == ("call_definition_invalid", [{"path": "year"}])


def test_a_shared_error_passes_unchanged():
    original = Conflict("deadline_passed", "逾期不报视为放弃")

    @rpc
    def submit():
        raise original

    with pytest.raises(Conflict) as exc:
        submit()
    assert exc.value is original
