"""Privacy primitives of the runtime (DOMAIN §8): keyed pseudonyms, field encryption with key rotation, masking."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class DecryptionError(ValueError):
    """A stored field could not be decrypted: unknown key id, or the data was altered."""


def mask_id_number(id_number: str) -> str:
    """The platform's masked form ``150102**********34``: first 6 and last 2 characters."""
    if len(id_number) != 18:
        # Not an ID we understand: reveal nothing rather than guess which parts are safe.
        return "*" * len(id_number)
    return f"{id_number[:6]}**********{id_number[16:]}"


# --- pseudonyms and encryption -----------------------------------------------------------


class Pseudonymizer:
    """person_key = HMAC-SHA256(pepper, normalised ID), encoded short.

    Keyed, because a plain hash of an ID number can be reversed by enumerating the
    roughly 10^11 plausible IDs.
    """

    def __init__(self, pepper: bytes) -> None:
        if not pepper:
            raise ValueError("the pseudonym pepper must not be empty")
        self._pepper = pepper
        # The HMAC's inner and outer hash states after the padded key (RFC 2104), for `person_keys`.
        key = (hashlib.sha256(pepper).digest() if len(pepper) > 64 else pepper).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def person_key(self, id_number: str) -> str:
        """26 hex characters: the first 104 bits of the HMAC (hex, because it is C-fast on hot paths)."""
        return hmac.digest(self._pepper, id_number.encode("ascii"), "sha256")[:13].hex()

    def person_keys(self, id_numbers: Sequence[str]) -> list[str]:
        """`person_key` of each, for a chunk of an upload: the key's hash states are computed once."""
        inner, outer = self._inner.copy, self._outer.copy
        keys = []
        for id_number in id_numbers:
            digest = inner()
            digest.update(id_number.encode("ascii"))
            mac = outer()
            mac.update(digest.digest())
            keys.append(mac.digest()[:13].hex())
        return keys


class FieldCipher:
    """AES-256-GCM with a key id recorded for rotation (cryptography's AESGCM).

    The key id is bound as associated data, so a blob cannot be relabelled as encrypted
    under another key. Old keys stay in ``keys`` to decrypt what they encrypted.
    """

    NONCE_BYTES = 12

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"encryption key {key_id!r} is not 32 bytes")
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} names no key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    def encrypt(self, plaintext: str) -> tuple[str, bytes]:
        """``(key_id, nonce + ciphertext + tag)`` under the active key."""
        key_id = self.active_key_id
        nonce = os.urandom(self.NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, plaintext.encode("utf-8"), key_id.encode("utf-8"))
        return key_id, nonce + sealed

    def encrypt_many(self, plaintexts: Sequence[str]) -> tuple[str, list[bytes]]:
        """`encrypt` of each, for a chunk of an upload: the key id and each ``nonce + ciphertext + tag``."""
        key_id = self.active_key_id
        seal, bound = self._ciphers[key_id].encrypt, key_id.encode("utf-8")
        size = self.NONCE_BYTES
        nonces = os.urandom(size * len(plaintexts))
        sealed = []
        for start, plaintext in zip(range(0, len(nonces), size), plaintexts, strict=True):
            nonce = nonces[start : start + size]
            sealed.append(nonce + seal(nonce, plaintext.encode("utf-8"), bound))
        return key_id, sealed

    def decrypt(self, key_id: str, blob: bytes) -> str:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"no encryption key with id {key_id!r}")
        nonce, sealed = blob[: self.NONCE_BYTES], blob[self.NONCE_BYTES :]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise DecryptionError("the encrypted field is corrupt or was altered") from None
        return plain.decode("utf-8")
