"""Argon2id password hashing with the configured cost."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this keeps an unknown username as slow as a wrong password.
_dummy_hash = _hasher.hash("not-a-password")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# Temporary passwords: no vowels (no words), no look-alikes (0/o, 1/l/i): easy to read out and type.
TEMPORARY_ALPHABET = "bcdfghjkmnpqrstvwxz23456789"
TEMPORARY_GROUPS, TEMPORARY_GROUP_LENGTH = 4, 5


def configure(time_cost: int, memory_cost: int, parallelism: int) -> None:
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _dummy_hash = _hasher.hash("not-a-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash, spend the same time and fail."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def password_problem(password: str, username: str = "") -> str | None:
    """Say why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    if username and username.lower() in lowered:
        return "Do not use your username in your password."
    if any(word in lowered for word in ("periop", "password", "hospital", "123456")):
        return "Choose a less guessable password."
    return None


def temporary_password(username: str = "") -> str:
    """A random, readable one-off password: 4 groups of 5, e.g. "k7mqz-4hxpw-r9tcd-3fnwb" (~95 bits)."""
    while True:
        groups = (
            "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP_LENGTH))
            for _ in range(TEMPORARY_GROUPS)
        )
        password = "-".join(groups)
        if password_problem(password, username) is None:  # e.g. a username "xz" inside it
            return password
