"""Password hashing, random tokens, token hashing and at-rest encryption of stored secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash, never an error)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password(length: int = 20) -> str:
    """A random password without look-alike characters."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def generate_token(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random token, optionally with a recognisable prefix such as ``rmh_``."""
    return prefix + secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy token (tokens are random, so a slow hash adds nothing)."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two strings without leaking timing."""
    return hmac.compare_digest(a.encode(), b.encode())


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for ``purpose`` derived from the hub secret key (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rmmhub", info=purpose.encode())
    return hkdf.derive(secret_key.encode())


class SecretDecryptionError(RuntimeError):
    """A stored secret could not be decrypted: the secret key changed or the value was altered."""


class SecretBox:
    """Encrypts secrets stored in the database (connector credentials) with a key from the secret key."""

    def __init__(self, secret_key: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive_key(secret_key, "stored-secrets")))

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` into an opaque ASCII token."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt a token produced by :meth:`encrypt`."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretDecryptionError(
                "a stored secret cannot be decrypted: RMMHUB_SECRET_KEY changed since it was saved; "
                "re-enter the credential"
            ) from exc
