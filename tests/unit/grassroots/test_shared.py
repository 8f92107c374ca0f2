"""The shared library's pure parts: errors on the wire, envelopes, masking, actors, config."""
import json

import pytest

from grassroots import config
from grassroots.context import Actor
from grassroots.errors import Conflict, Forbidden, ValidationFailed, from_wire
from grassroots.events import make_envelope
from grassroots.logging import mask_pii, mask_text


def test_a_domain_error_survives_the_rpc_hop_with_code_message_and_details():
    err = ValidationFailed("form_invalid", "申报表有 2 处需要修改", [{"path": "a", "code": "required"}])
    back = from_wire("ValidationFailed", str(err))
    assert isinstance(back, ValidationFailed) and back.status == 422
    assert back.to_dict() == {"code": "form_invalid", "message": "申报表有 2 处需要修改",
                              "details": [{"path": "a", "code": "required"}]}


def test_an_unknown_remote_error_is_not_mistaken_for_a_domain_error():
    assert from_wire("KeyError", "'x'") is None


def test_an_envelope_carries_id_type_time_correlation_actor_and_version():
    actor = Actor(id="u1", role="programme_officer")
    env = make_envelope("call_opened", {"a": 1}, source="intake", actor=actor, correlation_id="c1")
    assert len(env["id"]) == 32 and env["type"] == "call_opened" and env["source"] == "intake"
    assert env["occurred_at"].endswith("+00:00") and env["correlation_id"] == "c1"
    assert env["actor"]["id"] == "u1" and env["schema_version"] == 1 and env["payload"] == {"a": 1}
    json.dumps(env)


@pytest.mark.parametrize("raw, shown", [
    ("手机 13912345678", "手机 139****5678"),
    ("身份证 15010219900101123X", "身份证 150102********123X"),
    ("账号 6222021234567890123", "账号 6222****0123"),
    ("邮箱 zhang.san@example.cn", "邮箱 z***@example.cn"),
])
def test_pii_is_masked_inside_log_text(raw, shown):
    assert mask_text(raw) == shown


def test_sensitive_keys_are_masked_and_passwords_hidden_entirely():
    out = mask_pii(None, "info", {"event": "x", "mobile": "13912345678", "password": "secret-pass",
                                  "nested": {"account_number": "6222021234567890"}})
    assert out["mobile"] == "139****5678" and out["password"] == "***"
    assert out["nested"]["account_number"] == "6222****7890"


def test_an_applicant_unit_acts_only_for_its_own_unit():
    unit_user = Actor(id="u", role="applicant_unit", unit_id="A")
    unit_user.require_unit("A")
    with pytest.raises(Forbidden) as exc:
        unit_user.require_unit("B")
    assert exc.value.code == "not_your_unit"
    Actor(id="o", role="programme_officer").require_unit("B")


def test_a_role_check_names_the_roles_needed_in_chinese():
    with pytest.raises(Forbidden) as exc:
        Actor(id="a", role="auditor").require("finance_officer")
    assert "财务人员" in exc.value.message


def test_each_service_gets_its_own_database_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("INTAKE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert config.database_url("intake").endswith("/intake.db")
    assert config.database_url("intake") != config.database_url("review")
    monkeypatch.setenv("INTAKE_DATABASE_URL", "postgresql://x/intake")
    assert config.database_url("intake") == "postgresql://x/intake"


def test_conflict_maps_to_409():
    assert Conflict("x", "y").status == 409
