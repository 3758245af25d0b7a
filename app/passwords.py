"""Argon2id password hashing at the site's cost, and temporary passwords."""

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain.password_strength import password_problem
from app.domain.site import PasswordCost

# Temporary passwords: no vowels (no words), no look-alikes (0/o, 1/l/i): easy to read out and type.
TEMPORARY_ALPHABET = "bcdfghjkmnpqrstvwxz23456789"
TEMPORARY_GROUPS, TEMPORARY_GROUP_LENGTH = 4, 5


@lru_cache
def _hasher(cost: PasswordCost) -> PasswordHasher:
    return PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_cost, parallelism=cost.parallelism
    )


@lru_cache
def _dummy_hash(cost: PasswordCost) -> str:
    """Verifying against this keeps an unknown username as slow as a wrong password."""
    return _hasher(cost).hash("not-a-password")


def hash_password(password: str, cost: PasswordCost) -> str:
    return _hasher(cost).hash(password)


DEFAULT_COST = PasswordCost()


def verify_password(stored_hash: str | None, password: str, cost: PasswordCost = DEFAULT_COST) -> bool:
    """Check a password (the hash says its own cost); with no stored hash, spend the time of the
    site's cost and fail."""
    try:
        return _hasher(cost).verify(stored_hash or _dummy_hash(cost), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, cost: PasswordCost) -> bool:
    return _hasher(cost).check_needs_rehash(stored_hash)


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
