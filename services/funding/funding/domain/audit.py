"""The audit trail: hash-chained records, a streaming verifier, and Ed25519-signed checkpoints.

Record hash = SHA-256 (hex) of the canonical encoding of
``[seq, at, actor_id, actor_role, action, entity, entity_id, reason, data, prev_hash]``: a JSON array,
UTF-8, no spaces, keys sorted (which only affects ``data``, the one object in it). ``at`` is the UTC
time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fractional digits, so a timestamptz read back from
PostgreSQL, which keeps microseconds, encodes identically). The first record has seq 1 and prev_hash
``GENESIS_HASH`` (64 zeros). ``data`` holds JSON-native values only and no floats (money as strings),
so that storing it as jsonb and reading it back gives the same encoding.

Auditors verify with ``verify_chain`` (names the first broken record and how it broke) and compare the
chain with checkpoints they keep outside the system (``check_against_checkpoints``: truncation,
rewriting). A checkpoint signs (seq, head_hash, at, key_id) with Ed25519; ``key_id`` is the public key's
fingerprint, so after a key rotation old checkpoints still verify against the old public key.

Verification cost is one json encode and one sha256 per record (> 100k records/s, see the unit tests).
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import attrgetter, itemgetter
from typing import Any, Callable, Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS_HASH = "0" * 64
_UTC = timezone.utc

FIELDS = ("seq", "at", "actor_id", "actor_role", "action", "entity", "entity_id", "reason", "data", "prev_hash")

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False).encode
_sha256 = hashlib.sha256

HASH_MISMATCH = "hash_mismatch"
PREV_LINK_BROKEN = "prev_link_broken"
SEQ_GAP = "seq_gap"

BREAK_MESSAGES = {
    HASH_MISMATCH: "第{seq}条审计记录的内容与其哈希值不符：该记录在写入后被修改",
    PREV_LINK_BROKEN: "第{seq}条审计记录的前序哈希与上一条记录不符：前面的记录被改写、删除或插入",
    SEQ_GAP: "审计记录序号不连续：应为第{expected}条，实际为第{seq}条（记录被删除或插入）",
}


def format_at(at: datetime | str) -> str:
    """The canonical UTC text of a timestamp; aware datetimes only (naive times are ambiguous)."""
    if isinstance(at, str):
        return at
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    # isoformat is several times faster than strftime; this runs per record while verifying.
    return at.astimezone(_UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def canonical(seq: int, at: str, actor_id: str, actor_role: str, action: str, entity: str, entity_id: str,
              reason: str, data: Any, prev_hash: str) -> bytes:
    return _encode([seq, at, actor_id, actor_role, action, entity, entity_id, reason, data, prev_hash]).encode()


def record_hash(seq: int, at: str, actor_id: str, actor_role: str, action: str, entity: str, entity_id: str,
                reason: str, data: Any, prev_hash: str) -> str:
    return _sha256(canonical(seq, at, actor_id, actor_role, action, entity, entity_id, reason, data,
                             prev_hash)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: str
    actor_id: str
    actor_role: str
    action: str
    entity: str
    entity_id: str
    reason: str
    data: Any
    prev_hash: str
    hash: str

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def _check_data(value: Any, path: str = "data") -> None:
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        raise ValueError(f"{path}: floats are not allowed in audit data (use strings for amounts)")
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_data(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{path}: keys must be strings")
            _check_data(item, f"{path}.{k}")
        return
    raise ValueError(f"{path}: {type(value).__name__} is not JSON-native; convert it first")


def append(prev: AuditRecord | None, *, at: datetime, actor_id: str, actor_role: str, action: str,
           entity: str, entity_id: str, reason: str = "", data: Any = None) -> AuditRecord:
    """The record that follows ``prev`` (None for the first). The service inserts it in the same
    transaction as the change it records, reading ``prev`` = the head under a lock (see sql/README.md)."""
    _check_data(data)
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS_HASH if prev is None else prev.hash
    at_text = format_at(at)
    values = (seq, at_text, str(actor_id), str(actor_role), action, entity, str(entity_id), reason or "", data,
              prev_hash)
    return AuditRecord(*values, record_hash(*values))


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    ok: bool
    checked: int
    head_seq: int | None        # last good record
    head_hash: str | None
    broken_seq: int | None = None
    kind: str | None = None     # hash_mismatch | prev_link_broken | seq_gap
    message: str | None = None  # Chinese, for the auditor

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


_attr_fields = attrgetter(*FIELDS, "hash")
_item_fields = itemgetter(*FIELDS, "hash")


def verify_chain(records: Iterable[Any], *, start_seq: int = 1, prev_hash: str = GENESIS_HASH,
                 observe: Callable[[int, str], None] | None = None) -> ChainVerdict:
    """Stream ``records`` (ordered by seq; AuditRecord, ORM objects, dicts with the FIELDS and ``hash``, or
    sequences of the FIELDS followed by ``hash``)
    and stop at the first break. To verify a tail, pass the seq and hash of the record before it.
    ``observe(seq, hash)`` is called for each good record (used to compare with checkpoints in one pass).
    """
    expected = start_seq
    prev = prev_hash
    checked = 0
    sha = _sha256
    enc = _encode
    for r in records:
        # Plain sequences in FIELDS order (tuples, lists, namedtuples) are used as they are: the fast path
        # for rows streamed from the database.
        cls = r.__class__
        f = r if cls is list or cls is tuple or isinstance(r, tuple) else (
            _item_fields(r) if isinstance(r, Mapping) else _attr_fields(r))
        seq, at = f[0], f[1]
        if seq != expected:
            return _broken(checked, expected, prev, seq, SEQ_GAP)
        if f[9] != prev:
            return _broken(checked, expected, prev, seq, PREV_LINK_BROKEN)
        if at.__class__ is not str:
            at = format_at(at)
        digest = sha(enc([seq, at, f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]]).encode()).hexdigest()
        if digest != f[10]:
            return _broken(checked, expected, prev, seq, HASH_MISMATCH)
        prev = digest
        expected += 1
        checked += 1
        if observe is not None:
            observe(seq, digest)
    head = expected - 1
    return ChainVerdict(True, checked, head if checked or start_seq > 1 else None,
                        prev if checked or start_seq > 1 else None)


def _broken(checked: int, expected: int, prev: str, seq: int, kind: str) -> ChainVerdict:
    head = expected - 1
    return ChainVerdict(False, checked, head if head >= 1 else None, prev if head >= 1 else None,
                        broken_seq=seq,
                        kind=kind, message=BREAK_MESSAGES[kind].format(seq=seq, expected=expected))


# -- verifying in segments ------------------------------------------------------------------------------
# A long chain is verified by several processes, each over a range of seqs (see funding.verify_worker). A
# segment takes its first record's stored prev_hash on trust; join_segments then checks each segment's
# first record against the head its predecessor computed, so the verdict is exactly verify_chain's over
# the whole chain: the same first break, the same kind, the same count.

@dataclass(frozen=True, slots=True)
class Segment:
    """What was found in the records with ``low <= seq < high``."""
    low: int
    first_seq: int | None       # the first record in the range (None: the range holds none)
    first_prev: str | None      # its stored prev_hash, trusted until join_segments checks it
    verdict: ChainVerdict       # verify_chain over the range, from ``low``, after that prev_hash
    seen: dict[int, str] = field(default_factory=dict)   # hashes at the wanted (checkpoint) seqs

    def to_dict(self) -> dict:
        return {"low": self.low, "first_seq": self.first_seq, "first_prev": self.first_prev,
                "verdict": self.verdict.to_dict(), "seen": {str(k): v for k, v in self.seen.items()}}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Segment":
        return cls(int(d["low"]), d["first_seq"], d["first_prev"], ChainVerdict(**d["verdict"]),
                   {int(k): v for k, v in d["seen"].items()})


def verify_segment(records: Iterable[Any], low: int, wanted: Iterable[int] = (),
                   prev_hash: str | None = None) -> Segment:
    """Verify the records of one range (ordered by seq, starting at or after ``low``). ``prev_hash``: the
    hash before ``low`` if known (GENESIS_HASH for the first segment); otherwise the first record's own."""
    it = iter(records)
    first = next(it, None)
    if first is None:
        return Segment(low, None, None, ChainVerdict(True, 0, None, None))
    f = first if first.__class__ in (list, tuple) or isinstance(first, tuple) else (
        _item_fields(first) if isinstance(first, Mapping) else _attr_fields(first))
    wanted = set(wanted)
    seen: dict[int, str] = {}

    def observe(seq: int, digest: str) -> None:
        if seq in wanted:
            seen[seq] = digest
    first_prev = f[9]
    verdict = verify_chain(_prepend(first, it), start_seq=low,
                           prev_hash=first_prev if prev_hash is None else prev_hash,
                           observe=observe if wanted else None)
    return Segment(low, f[0], first_prev, verdict, seen)


def _prepend(first, rest):
    yield first
    yield from rest


def join_segments(segments: Iterable[Segment], *, start_seq: int = 1,
                  prev_hash: str = GENESIS_HASH) -> tuple[ChainVerdict, dict[int, str]]:
    """The verdict over consecutive segments (in seq order, the first starting at ``start_seq``) and the
    hashes seen at wanted seqs up to the first break."""
    checked = 0
    expected = start_seq
    prev = prev_hash
    seen: dict[int, str] = {}
    for s in segments:
        if s.first_seq is None:
            continue
        if s.first_seq != expected:   # records missing at the end of a range or the start of this one
            return _broken(checked, expected, prev, s.first_seq, SEQ_GAP), seen
        if s.first_prev != prev:
            return _broken(checked, expected, prev, s.first_seq, PREV_LINK_BROKEN), seen
        seen.update(s.seen)
        v = s.verdict
        checked += v.checked
        if not v.ok:
            return ChainVerdict(False, checked, v.head_seq, v.head_hash, v.broken_seq, v.kind, v.message), seen
        expected = v.head_seq + 1
        prev = v.head_hash
    return ChainVerdict(True, checked, expected - 1 if checked or start_seq > 1 else None,
                        prev if checked or start_seq > 1 else None), seen


def verify_segments_with_checkpoints(segments: Iterable[Segment], checkpoints: Iterable[Checkpoint],
                                     public_keys: "PublicKeys | None" = None
                                     ) -> tuple[ChainVerdict, CheckpointReport]:
    """``verify_with_checkpoints`` for a chain verified in segments (each given the checkpoint seqs in its
    range as ``wanted``)."""
    checkpoints = list(checkpoints)
    verdict, seen = join_segments(segments)
    matcher = _CheckpointMatcher(checkpoints)
    matcher.seen = {seq: h for seq, h in seen.items() if seq in matcher.wanted}
    matcher.head = verdict.head_seq or 0
    if verdict.ok:
        return verdict, _report(checkpoints, matcher, public_keys)
    return verdict, _report(checkpoints, matcher, public_keys, verified_to=matcher.head)


# -- keys ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KeyPair:
    private_pem: str
    public_pem: str
    key_id: str


def key_id(public_key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Fingerprint: "ed25519:" + the first 32 hex digits of SHA-256 of the raw 32-byte public key."""
    if isinstance(public_key, Ed25519PrivateKey):
        public_key = public_key.public_key()
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def generate_key_pair() -> KeyPair:
    """A new signing key (for the runbook's key rotation). Keep the private PEM in the service's secret
    configuration; publish the public PEM and key id to the auditors."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return KeyPair(private_pem, public_pem, key_id(private))


def _key_text(text: str) -> str:
    # Environment variables often carry PEM with literal "\n".
    return text.strip().replace("\\n", "\n")


def load_private_key(text: str | Ed25519PrivateKey) -> Ed25519PrivateKey:
    """From PEM (PKCS#8), or base64 of the raw 32-byte seed or of DER PKCS#8."""
    if isinstance(text, Ed25519PrivateKey):
        return text
    text = _key_text(text)
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        raw = base64.b64decode(text, validate=True)
        key = (Ed25519PrivateKey.from_private_bytes(raw) if len(raw) == 32
               else serialization.load_der_private_key(raw, password=None))
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the configured checkpoint key is not an Ed25519 private key")
    return key


def load_public_key(text: str | Ed25519PublicKey) -> Ed25519PublicKey:
    """From PEM (SubjectPublicKeyInfo), or base64 of the raw 32 bytes or of DER."""
    if isinstance(text, Ed25519PublicKey):
        return text
    text = _key_text(text)
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        raw = base64.b64decode(text, validate=True)
        key = (Ed25519PublicKey.from_public_bytes(raw) if len(raw) == 32
               else serialization.load_der_public_key(raw))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


# -- checkpoints -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    head_hash: str
    at: str
    key_id: str
    signature: str   # base64 of the 64-byte Ed25519 signature (detached)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Checkpoint":
        return cls(int(d["seq"]), d["head_hash"], d["at"], d["key_id"], d["signature"])


def checkpoint_message(seq: int, head_hash: str, at: str, key_id: str) -> bytes:
    """What is signed; an auditor can rebuild it by hand."""
    return f"grassroots-funding-audit-checkpoint/v1\n{seq}\n{head_hash}\n{at}\n{key_id}\n".encode()


def sign_checkpoint(seq: int, head_hash: str, at: datetime | str, key: Ed25519PrivateKey | str) -> Checkpoint:
    private = load_private_key(key)
    kid = key_id(private)
    at_text = format_at(at)
    signature = private.sign(checkpoint_message(seq, head_hash, at_text, kid))
    return Checkpoint(seq, head_hash, at_text, kid, base64.b64encode(signature).decode())


PublicKeys = Ed25519PublicKey | str | Mapping[str, Ed25519PublicKey | str]


def _public_key_for(kid: str, public_keys: PublicKeys) -> Ed25519PublicKey | None:
    if isinstance(public_keys, Mapping):
        key = public_keys.get(kid)
        return None if key is None else load_public_key(key)
    key = load_public_key(public_keys)
    return key if key_id(key) == kid else None


def verify_checkpoint(checkpoint: Checkpoint, public_keys: PublicKeys) -> bool:
    """True if the signature is valid under the key named by ``checkpoint.key_id``. ``public_keys``: one
    key, or a mapping key_id → key (every key ever used, so rotated-out keys still verify old checkpoints)."""
    key = _public_key_for(checkpoint.key_id, public_keys)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(checkpoint.signature, validate=True),
                   checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.at, checkpoint.key_id))
    except (InvalidSignature, ValueError):
        return False
    return True


TRUNCATED = "truncated"
REWRITTEN = "rewritten"
BAD_SIGNATURE = "bad_signature"

CHECKPOINT_MESSAGES = {
    TRUNCATED: "审计链只有{head}条记录，短于{at}签署的检查点（第{seq}条）：记录被截断或删除",
    REWRITTEN: "第{seq}条审计记录的哈希值与{at}签署的检查点不符：该处及之前的记录被改写",
    BAD_SIGNATURE: "第{seq}条的检查点签名无效或签名密钥未知：检查点不可信",
}


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    ok: bool
    problems: tuple[dict, ...] = ()   # each {"seq", "kind", "message", "checkpoint"}

    def to_dict(self) -> dict:
        return {"ok": self.ok, "problems": list(self.problems)}


class _CheckpointMatcher:
    """Collects, in one pass over the chain, the hash at each checkpoint's seq."""

    def __init__(self, checkpoints: Iterable[Checkpoint]):
        self.wanted = {cp.seq for cp in checkpoints}
        self.seen: dict[int, str] = {}
        self.head = 0

    def __call__(self, seq: int, digest: str) -> None:
        self.head = seq
        if seq in self.wanted:
            self.seen[seq] = digest


def _report(checkpoints: list[Checkpoint], matcher: _CheckpointMatcher, public_keys: PublicKeys | None,
            verified_to: int | None = None) -> CheckpointReport:
    problems = []
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        kind = None
        if public_keys is not None and not verify_checkpoint(cp, public_keys):
            kind = BAD_SIGNATURE
        elif cp.seq not in matcher.seen:
            if verified_to is not None:
                continue   # beyond a break found by verify_chain; that break is reported there
            kind = TRUNCATED
        elif matcher.seen[cp.seq] != cp.head_hash:
            kind = REWRITTEN
        if kind:
            problems.append({"seq": cp.seq, "kind": kind, "checkpoint": cp.to_dict(),
                             "message": CHECKPOINT_MESSAGES[kind].format(seq=cp.seq, at=cp.at, head=matcher.head)})
    return CheckpointReport(not problems, tuple(problems))


def check_against_checkpoints(chain: Iterable[Any], checkpoints: Iterable[Checkpoint],
                              public_keys: PublicKeys | None = None) -> CheckpointReport:
    """Compare the stored chain (records with ``seq`` and ``hash``, in seq order) with checkpoints.

    truncated: the chain ends before a checkpoint's seq. rewritten: the stored hash at a checkpoint's seq
    differs from the signed one. bad_signature (only if ``public_keys`` given): the checkpoint itself is
    not trustworthy. Does not recompute hashes; use ``verify_with_checkpoints`` for both in one pass.
    """
    checkpoints = list(checkpoints)
    matcher = _CheckpointMatcher(checkpoints)
    get = None
    for r in chain:
        if get is None:
            get = itemgetter("seq", "hash") if isinstance(r, Mapping) else attrgetter("seq", "hash")
        matcher(*get(r))
    return _report(checkpoints, matcher, public_keys)


def verify_with_checkpoints(records: Iterable[Any], checkpoints: Iterable[Checkpoint],
                            public_keys: PublicKeys | None = None) -> tuple[ChainVerdict, CheckpointReport]:
    """One pass: the chain's own integrity and its agreement with the checkpoints."""
    checkpoints = list(checkpoints)
    matcher = _CheckpointMatcher(checkpoints)
    verdict = verify_chain(records, observe=matcher)
    if verdict.ok:
        return verdict, _report(checkpoints, matcher, public_keys)
    return verdict, _report(checkpoints, matcher, public_keys, verified_to=matcher.head)
