"""Resident ID numbers at rest: a keyed hash to find and de-duplicate, Fernet to let an admin read, a mask for the rest.

Keys come from the config: ``EXPERTS_ID_HASH_KEY`` (HMAC key; never change it without re-hashing every
expert) and ``EXPERTS_ID_ENCRYPTION_KEY`` (a Fernet key, or any high-entropy secret from which one is
derived), with ``EXPERTS_ID_ENCRYPTION_KEY_PREVIOUS`` still accepted for decryption during a rotation.
When a key is absent (a developer's machine, the tests) a fixed development key is used and a warning
says so at start-up: such data is not protected.

Usage:
    vault = IdVault.from_config(container.config)
    sealed = vault.seal(raw)          # SealedId(number, hash, encrypted, masked); ValidationFailed if invalid
    vault.reveal(sealed.encrypted)    # the number, for an admin only
    vault.hash(raw)                   # look-up key of a number
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from grassroots.logging import get_logger

from .domain import identity

log = get_logger("experts")

DEV_HASH_KEY = "dev-only-experts-id-hash-key"
DEV_ENCRYPTION_KEY = "dev-only-experts-id-encryption-key"


def fernet_for(secret: str) -> Fernet:
    """A Fernet for a configured secret: the secret itself when it is a Fernet key (urlsafe base64 of 32
    bytes), else a key derived from it by SHA-256 (``secrets.token_urlsafe(32)``, which the deployment
    guide recommends, is not a Fernet key)."""
    try:
        if len(base64.urlsafe_b64decode(secret.encode("ascii"))) == 32:
            return Fernet(secret.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        pass
    derived = hashlib.sha256(b"grassroots-experts-id-encryption:" + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


@dataclass(frozen=True)
class SealedId:
    hash: str
    encrypted: str
    masked: str
    birth_year: int

    def __repr__(self) -> str:  # never the number, not even encrypted, in a log line or a traceback
        return f"SealedId(masked={self.masked!r})"


class IdVault:
    def __init__(self, hash_key: str, encryption_keys: list[str]):
        self._hash_key = hash_key
        self._fernet = MultiFernet([fernet_for(k) for k in encryption_keys])

    @classmethod
    def from_config(cls, cfg) -> "IdVault":
        hash_key = cfg.get("EXPERTS_ID_HASH_KEY") or ""
        enc_key = cfg.get("EXPERTS_ID_ENCRYPTION_KEY") or ""
        if not hash_key or not enc_key:
            log.warning("experts_id_keys_not_configured",
                        effect="EXPERTS_ID_HASH_KEY or EXPERTS_ID_ENCRYPTION_KEY is unset: resident ID numbers are "
                               "hashed and encrypted with development keys; set both in deployment")
        keys = [enc_key or DEV_ENCRYPTION_KEY]
        if cfg.get("EXPERTS_ID_ENCRYPTION_KEY_PREVIOUS"):
            keys.append(cfg["EXPERTS_ID_ENCRYPTION_KEY_PREVIOUS"])
        return cls(hash_key or DEV_HASH_KEY, keys)

    def hash(self, raw: str, path: str = "id_number") -> str:
        return identity.id_number_hash(identity.validate_id_number(raw, path=path), self._hash_key)

    def seal(self, raw: str, path: str = "id_number") -> SealedId:
        number = identity.validate_id_number(raw, path=path)
        return SealedId(hash=identity.id_number_hash(number, self._hash_key),
                        encrypted=self._fernet.encrypt(number.encode("ascii")).decode("ascii"),
                        masked=identity.mask_id_number(number), birth_year=int(number[6:10]))

    def reveal(self, encrypted: str) -> str:
        try:
            return self._fernet.decrypt(encrypted.encode("ascii")).decode("ascii")
        except InvalidToken:
            # A key was changed without keeping the old one as ..._PREVIOUS: say so, never guess.
            log.error("id_number_undecryptable", effect="EXPERTS_ID_ENCRYPTION_KEY does not open this record")
            raise
