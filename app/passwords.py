"""Argon2id password hashing with the configured cost, and temporary passwords."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain.password_strength import password_problem

_hasher = PasswordHasher()
# Verifying against this keeps an unknown username as slow as a wrong password.
_dummy_hash = _hasher.hash("not-a-password")

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


def temporary_password(username: str = "", full_name: str = "") -> str:
    """A random, readable one-off password: 4 groups of 5, e.g. "k7mqz-4hxpw-r9tcd-3fnwb" (~95 bits).

    Drawn again until the password rule accepts it for this user, as it almost always does at once.
    """
    while True:
        groups = (
            "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_GROUP_LENGTH))
            for _ in range(TEMPORARY_GROUPS)
        )
        password = "-".join(groups)
        if password_problem(password, username, full_name) is None:  # not e.g. a username "xz" inside it
            return password
