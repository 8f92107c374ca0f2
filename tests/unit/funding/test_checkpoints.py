import base64
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from funding.domain import audit

T0 = datetime(2025, 5, 1, tzinfo=timezone.utc)


def chain(n):
    records, prev = [], None
    for i in range(n):
        prev = audit.append(prev, at=T0 + timedelta(minutes=i), actor_id="u", actor_role="finance_officer",
                            action="x", entity="budget", entity_id="b", data={"i": i})
        records.append(prev)
    return records


@pytest.fixture(scope="module")
def keys():
    return audit.generate_key_pair()


def test_a_signed_checkpoint_verifies_with_the_public_key_and_names_it(keys):
    cp = audit.sign_checkpoint(10, "a" * 64, T0, keys.private_pem)
    assert cp.key_id == keys.key_id and cp.at == "2025-05-01T00:00:00.000000Z"
    assert len(base64.b64decode(cp.signature)) == 64
    assert audit.verify_checkpoint(cp, keys.public_pem)
    assert audit.verify_checkpoint(audit.Checkpoint.from_dict(cp.to_dict()), {keys.key_id: keys.public_pem})


@pytest.mark.parametrize("change", [{"seq": 11}, {"head_hash": "b" * 64}, {"at": "2025-05-02T00:00:00.000000Z"}])
def test_a_checkpoint_altered_after_signing_does_not_verify(keys, change):
    cp = audit.sign_checkpoint(10, "a" * 64, T0, keys.private_pem)
    assert not audit.verify_checkpoint(dataclasses.replace(cp, **change), keys.public_pem)


def test_after_a_key_rotation_old_checkpoints_verify_with_the_old_key(keys):
    new = audit.generate_key_pair()
    old_cp = audit.sign_checkpoint(5, "a" * 64, T0, keys.private_pem)
    new_cp = audit.sign_checkpoint(9, "c" * 64, T0, new.private_pem)
    ring = {keys.key_id: keys.public_pem, new.key_id: new.public_pem}
    assert audit.verify_checkpoint(old_cp, ring) and audit.verify_checkpoint(new_cp, ring)
    assert not audit.verify_checkpoint(old_cp, new.public_pem)
    assert not audit.verify_checkpoint(old_cp, {new.key_id: new.public_pem})


def test_keys_load_from_pem_with_escaped_newlines_and_from_base64_raw_bytes(keys):
    from cryptography.hazmat.primitives import serialization
    private = audit.load_private_key(keys.private_pem.replace("\n", "\\n"))
    raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    assert audit.key_id(audit.load_private_key(base64.b64encode(raw).decode())) == keys.key_id
    pub_raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert audit.key_id(audit.load_public_key(base64.b64encode(pub_raw).decode())) == keys.key_id
    with pytest.raises(Exception):
        audit.load_private_key("not a key")


def test_a_chain_that_matches_its_checkpoints_passes(keys):
    records = chain(20)
    cps = [audit.sign_checkpoint(r.seq, r.hash, T0, keys.private_pem) for r in (records[4], records[19])]
    assert audit.check_against_checkpoints(records, cps, keys.public_pem).ok
    verdict, report = audit.verify_with_checkpoints(records, cps, keys.public_pem)
    assert verdict.ok and report.ok


def test_a_truncated_chain_is_detected(keys):
    records = chain(20)
    cp = audit.sign_checkpoint(20, records[19].hash, T0, keys.private_pem)
    report = audit.check_against_checkpoints(records[:15], [cp], keys.public_pem)
    assert not report.ok and report.problems[0]["kind"] == audit.TRUNCATED and report.problems[0]["seq"] == 20
    # the truncated chain is internally consistent: only the checkpoint reveals the loss
    verdict, report = audit.verify_with_checkpoints(records[:15], [cp], keys.public_pem)
    assert verdict.ok and report.problems[0]["kind"] == audit.TRUNCATED


def test_a_rewritten_chain_is_detected_even_when_rehashed_consistently(keys):
    records = chain(20)
    cp = audit.sign_checkpoint(10, records[9].hash, T0, keys.private_pem)
    rewritten, prev = list(records[:3]), records[2]
    for r in records[3:]:
        prev = audit.append(prev, at=T0, actor_id="mallory", actor_role=r.actor_role, action=r.action,
                            entity=r.entity, entity_id=r.entity_id, data=r.data)
        rewritten.append(prev)
    verdict, report = audit.verify_with_checkpoints(rewritten, [cp], keys.public_pem)
    assert verdict.ok   # self-consistent ...
    assert [p["kind"] for p in report.problems] == [audit.REWRITTEN]   # ... but not what was signed
    assert "第10条" in report.problems[0]["message"]


def test_a_forged_checkpoint_is_reported_as_untrustworthy(keys):
    records = chain(5)
    mallory = audit.generate_key_pair()
    cp = audit.sign_checkpoint(5, records[4].hash, T0, mallory.private_pem)
    report = audit.check_against_checkpoints(records, [cp], {keys.key_id: keys.public_pem})
    assert [p["kind"] for p in report.problems] == [audit.BAD_SIGNATURE]
