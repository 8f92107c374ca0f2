"""A chain verified in ranges by several processes (funding.verify_worker) and joined gives exactly the
verdict of one pass: the same first break, kind, count, head and checkpoint report, wherever the ranges
start and whatever was damaged, including records missing at a range's edge and ranges left empty."""
import dataclasses
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from funding.domain import audit

T0 = datetime(2025, 5, 1, tzinfo=timezone.utc)
N = 24


def chain(n=N, reason=""):
    records, prev = [], None
    for i in range(n):
        prev = audit.append(prev, at=T0 + timedelta(minutes=i), actor_id=f"u{i % 3}", actor_role="auditor",
                            action="disbursement_paid", entity="disbursement", entity_id=f"d{i}", reason=reason,
                            data={"amount": f"{i + 1}00.00", "tranche": i % 3})
        records.append(prev)
    return records


def damaged(kind: str, at: int) -> list:
    """The chain with one kind of damage at seq ``at`` (1-based)."""
    records = chain()
    i = at - 1
    if kind == "intact":
        return records
    if kind == "edited":          # a field changed, hash left alone
        records[i] = dataclasses.replace(records[i], reason="改过")
    elif kind == "rehashed":      # changed and rehashed: the next record's link breaks
        r = dataclasses.replace(records[i], reason="改过")
        records[i] = dataclasses.replace(r, hash=audit.record_hash(*[getattr(r, f) for f in audit.FIELDS]))
    elif kind == "deleted":
        del records[i]
    elif kind == "deleted_run":   # several in a row: may empty a whole range
        del records[i:i + 7]
    elif kind == "truncated":
        del records[i:]
    elif kind == "relinked":      # the record's own link is wrong (and its hash made to match it)
        r = dataclasses.replace(records[i], prev_hash="f" * 64)
        records[i] = dataclasses.replace(r, hash=audit.record_hash(*[getattr(r, f) for f in audit.FIELDS]))
    return records


def in_ranges(records, bounds, wanted=()):
    """What the workers would return for the ranges [bounds[k], bounds[k+1]), through their JSON pipe."""
    segments = []
    for low, high in zip(bounds, bounds[1:]):
        part = [r for r in records if low <= r.seq < high]
        seg = audit.verify_segment(part, low, [w for w in wanted if low <= w < high])
        segments.append(audit.Segment.from_dict(json.loads(json.dumps(seg.to_dict()))))
    return segments


SPLITS = [[1, N + 1], [1, 13, N + 1], [1, 9, 17, N + 1], [1, 2, 3, N + 1], [1, 8, 9, 10, 20, N + 1],
          [1, N, N + 1]]
KINDS = ["intact", "edited", "rehashed", "deleted", "deleted_run", "truncated", "relinked"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_split_of_a_damaged_chain_gives_the_one_pass_verdict(kind):
    for at in ([1] if kind == "intact" else range(1, N + 1)):
        records = damaged(kind, at)
        one_pass = audit.verify_chain(records)
        head = max((r.seq for r in records), default=0)
        for bounds in SPLITS:
            bounds = [b for b in bounds if b <= head] + [head + 1] if head else [1, 1]
            joined, _ = audit.join_segments(in_ranges(records, sorted(set(bounds))))
            assert joined == one_pass, (kind, at, bounds)


def test_random_splits_and_damage_agree_with_one_pass_including_the_checkpoint_report():
    keys = audit.generate_key_pair()
    rnd = random.Random(20261201)
    for _ in range(300):
        kind = rnd.choice(KINDS)
        records = damaged(kind, rnd.randint(1, N))
        honest = chain()
        cps = [audit.sign_checkpoint(s, honest[s - 1].hash, T0, keys.private_pem) for s in rnd.sample(range(1, N + 1), 3)]
        head = max((r.seq for r in records), default=0)
        cuts = sorted(set([1] + rnd.sample(range(2, head + 1), min(rnd.randint(0, 4), max(0, head - 1)))))
        segments = in_ranges(records, cuts + [head + 1], [cp.seq for cp in cps])
        assert audit.verify_segments_with_checkpoints(segments, cps, keys.public_pem) == \
            audit.verify_with_checkpoints(records, cps, keys.public_pem), (kind, cuts)


def test_a_range_takes_its_first_link_on_trust_and_the_join_checks_it():
    records = chain()
    other = chain(reason="另一条链")[12:]              # another chain's second half, internally consistent
    alone = audit.verify_segment(other, 13)
    assert alone.verdict.ok and alone.first_prev == chain(reason="另一条链")[11].hash != records[11].hash
    verdict, _ = audit.join_segments([audit.verify_segment(records[:12], 1), alone])
    assert (verdict.ok, verdict.broken_seq, verdict.kind, verdict.checked) == (False, 13, audit.PREV_LINK_BROKEN, 12)
    assert (verdict.head_seq, verdict.head_hash) == (12, records[11].hash)
    assert verdict == audit.verify_chain(records[:12] + other)


def test_an_empty_chain_in_ranges_is_ok():
    assert audit.join_segments([audit.verify_segment([], 1), audit.verify_segment([], 5)])[0] == \
        audit.verify_chain([])


def test_every_pair_of_adjacent_ranges_is_checked_at_its_seam():
    records = chain()
    for cut in range(2, N + 1):
        tampered = list(records)
        tampered[cut - 1] = dataclasses.replace(tampered[cut - 1], prev_hash="0" * 64)
        segs = in_ranges(tampered, [1, cut, N + 1])
        verdict, _ = audit.join_segments(segs)
        assert (verdict.broken_seq, verdict.kind) == (cut, audit.PREV_LINK_BROKEN)
        assert verdict == audit.verify_chain(tampered)


@pytest.mark.parametrize("cpu_max, expected", [("max 100000\n", None), ("150000 100000\n", 2), ("50000 100000\n", 1),
                                               ("garbage\n", None), (None, None)])
def test_verifying_processes_follow_the_cpus_a_container_may_use(tmp_path, cpu_max, expected):
    import os
    from funding import audit as service_audit
    path = tmp_path / "cpu.max"
    if cpu_max is not None:
        path.write_text(cpu_max)
    mine = len(os.sched_getaffinity(0))
    assert service_audit.usable_cpus(str(path)) == (mine if expected is None else min(mine, expected))
