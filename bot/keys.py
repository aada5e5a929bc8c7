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
    """Fernet (AES-128-CBC + HMAC-SHA256) over JSON dictionaries of secrets.

    Built from SEATSYNC_SECRET_KEY it is the install's master box: the default tenant's secrets, and the wrapping
    of every other tenant's data key (envelope encryption: a tenant's secrets are encrypted under its own random
    data key, stored wrapped by the master key; `open_data_key` gives the box of one tenant).
    """

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "stored-secrets")))
        self._wrapping: Fernet | None = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "tenant-data-keys")))

    def new_wrapped_data_key(self) -> str:
        """A fresh random data key, wrapped by this master box (what the tenants table stores)."""
        return self._master_wrapping().encrypt(Fernet.generate_key()).decode()

    def open_data_key(self, wrapped: str) -> SecretBox:
        """The box of the data key `wrapped` (from `new_wrapped_data_key` under the same master key)."""
        try:
            data_key = self._master_wrapping().decrypt(wrapped.encode())
        except InvalidToken:
            raise SecretDecryptionError(
                "a tenant's data key cannot be unwrapped: SEATSYNC_SECRET_KEY differs from the one it was made with"
            ) from None
        box = object.__new__(SecretBox)
        box._fernet, box._wrapping = Fernet(data_key), None
        return box

    def _master_wrapping(self) -> Fernet:
        if self._wrapping is None:
            raise TypeError("a tenant's data-key box wraps no keys: use the master box")
        return self._wrapping

    def encrypt(self, secrets: dict[str, str]) -> str:
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def decrypt(self, token: str) -> dict[str, str]:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            raise SecretDecryptionError(
                "stored secrets cannot be decrypted: SEATSYNC_SECRET_KEY differs from the one they were saved with"
            ) from None
