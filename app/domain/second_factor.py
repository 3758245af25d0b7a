"""The second factor: TOTP codes (RFC 6238) accepted once, recovery codes, and who must have one.

Pure rules: the time is always passed in, so a code is checked against the app's clock.
"""

import hashlib
import secrets
from datetime import datetime

import pyotp
from pyotp.utils import strings_equal

from app.domain.vocab import Role

ISSUER = "Periop"
DIGITS = 6
STEP_SECONDS = 30
# Codes of the step before and after now are accepted too (clocks of phones drift).
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# Crockford's base32: digits and letters without i, l, o, u (no look-alikes); 5 bits a character.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_GROUPS, RECOVERY_GROUP_LENGTH = 4, 4  # 16 characters: 80 bits
# What a mistyped look-alike is read as.
_LOOK_ALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})
_SEPARATORS = str.maketrans("", "", " -\t")


def new_secret() -> str:
    """A random TOTP secret: 32 base32 characters (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32()


def grouped(secret: str) -> str:
    """The secret in groups of four, for reading out or typing: "ABCD EFGH …"."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def otpauth_uri(secret: str, username: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=ISSUER
    )


def time_step(now: datetime) -> int:
    """The TOTP time step (counter) of `now`."""
    return int(now.timestamp()) // STEP_SECONDS


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator app shows at `now` (for setting up a site's own accounts)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(now)


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """Return the time step the code belongs to, or None when it is refused.

    Accepted: the code of the step of `now` or of the step just before or after it, and only
    if that step is later than the last one accepted, so that each code works once.
    """
    typed = normalise_code(code)
    if len(typed) != DIGITS or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if strings_equal(typed, totp.generate_otp(step)):
            return step
    return None


def normalise_code(code: str) -> str:
    """A typed code without spaces or dashes, lower case: "123 456" is "123456"."""
    return (code or "").translate(_SEPARATORS).lower()


def looks_like_recovery_code(code: str) -> bool:
    """Whether the typed code has the shape of a recovery code (not of a 6-digit code)."""
    typed = normalise_code(code).translate(_LOOK_ALIKES)
    length = RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH
    return len(typed) == length and all(c in RECOVERY_ALPHABET for c in typed)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Random one-time recovery codes, 80 bits each, in groups: "7k3m-q9xd-2fhw-8c4n"."""
    codes = []
    for _ in range(count):
        groups = (
            "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUP_LENGTH))
            for _ in range(RECOVERY_GROUPS)
        )
        codes.append("-".join(groups))
    return codes


def recovery_code_hash(code: str) -> str:
    """The SHA-256 (hex) a recovery code is stored as; spaces, dashes, case and look-alikes do not count."""
    typed = normalise_code(code).translate(_LOOK_ALIKES)
    return hashlib.sha256(typed.encode()).hexdigest()


def required_roles(setting: str) -> frozenset[Role]:
    """Read MFA_REQUIRED_ROLES: "all", "none" or role values separated by commas."""
    words = {w.strip().lower() for w in (setting or "").split(",") if w.strip()}
    if words == {"all"}:
        return frozenset(Role)
    if not words or words == {"none"}:
        return frozenset()
    unknown = words - {r.value for r in Role}
    if unknown:
        raise ValueError(
            f"MFA_REQUIRED_ROLES: unknown role(s) {', '.join(sorted(unknown))}; "
            f"use all, none or some of {', '.join(r.value for r in Role)}"
        )
    return frozenset(Role(w) for w in words)


def must_enrol(role: Role, enrolled: bool, required: frozenset[Role]) -> bool:
    """Whether a user must set up a second factor before anything else."""
    return role in required and not enrolled
