"""Keys derived from SEATSYNC_SECRET_KEY, and the box that encrypts stored secrets.

One configured secret feeds several purposes (secret storage, link signing, sandbox webhooks); each
gets its own key through HKDF so that a key leaked for one purpose says nothing about the others.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted: the secret key changed or the value was tampered with."""


def derive_key(secret_key: str, purpose: str, length: int = 32) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"seatsync", info=purpose.encode()
    ).derive(secret_key.encode())


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) over JSON dictionaries of secrets."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "stored-secrets")))

    def encrypt(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise SecretDecryptionError(
                "stored secrets cannot be decrypted: SEATSYNC_SECRET_KEY differs from the one they were saved with"
            ) from None
