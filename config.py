"""Configuration: everything secret or site-specific comes from the environment.

Choose a configuration with PERIOP_ENV=development|production|testing. Without it the
app runs in production mode, which refuses to start without a real SECRET_KEY.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# Keys that must never be used in production (copied from tutorials and examples).
KNOWN_WEAK_KEYS = {"dev", "secret", "changeme", "change-me", "development", "test", "testing"}
MIN_SECRET_KEY_BYTES = 32
MIN_DISTINCT_KEY_CHARS = 10


class ConfigError(RuntimeError):
    """The configuration is not safe to run with."""


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def _flag_env(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "no", "false", "off"):
        return False
    if raw in ("1", "yes", "true", "on"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def _local_secret_key() -> str:
    """Return this checkout's development key, creating it on first use (never in git)."""
    INSTANCE_DIR.mkdir(exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    ENV_NAME = "base"
    SECRET_KEY: str | None = os.environ.get("SECRET_KEY")
    DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'periop.db'}"
    TIMEZONE = os.environ.get("TIMEZONE", "UTC")
    DUE_SOON_DAYS = _int_env("DUE_SOON_DAYS", 3)
    # "Pre-op not signed off" shows from this many days before surgery.
    SIGNOFF_WARNING_DAYS = _int_env("SIGNOFF_WARNING_DAYS", 2)
    # Wrong passwords in a row at signing before signing is locked, and for how long.
    SIGNATURE_MAX_FAILURES = _int_env("SIGNATURE_MAX_FAILURES", 5)
    SIGNATURE_LOCK_MINUTES = _int_env("SIGNATURE_LOCK_MINUTES", 15)
    # "Not improving" and "12-month outcome" thresholds (CLINICAL.md 5.3): minimal clinically
    # important differences from baseline, the baselines from which each is judged (ODI; NRS of
    # the dominant pain site), and the 12-month ODI failure / worsening cut-offs.
    MCID_ODI_POINTS = _int_env("MCID_ODI_POINTS", 10)
    MCID_ODI_PERCENT = _int_env("MCID_ODI_PERCENT", 30)
    MCID_NRS_POINTS = _int_env("MCID_NRS_POINTS", 2)
    MCID_NRS_PERCENT = _int_env("MCID_NRS_PERCENT", 30)
    MCID_ODI_FLOOR = _int_env("MCID_ODI_FLOOR", 20)
    MCID_NRS_FLOOR = _int_env("MCID_NRS_FLOOR", 3)
    ODI_FAILURE_12M = _int_env("ODI_FAILURE_12M", 31)
    ODI_WORSENING_12M = _int_env("ODI_WORSENING_12M", 39)
    # `flask audit anchor` appends the chain's head here (outside the database) and, when
    # AUDIT_ANCHOR_SYSLOG=1, sends it to syslog too; `flask audit verify` checks the chain holds them.
    AUDIT_ANCHOR_FILE = os.environ.get("AUDIT_ANCHOR_FILE") or str(INSTANCE_DIR / "audit-anchors.jsonl")
    AUDIT_ANCHOR_SYSLOG = _flag_env("AUDIT_ANCHOR_SYSLOG")
    # Demo accounts and demo patients exist only where this is on.
    DEMO_MODE = False

    # Sessions: a server-side record, 15 minutes idle, 12 hours at most (SECURITY-NOTES 1.2).
    SESSION_IDLE_MINUTES = _int_env("SESSION_IDLE_MINUTES", 15)
    SESSION_ABSOLUTE_HOURS = _int_env("SESSION_ABSOLUTE_HOURS", 12)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 0

    # Login throttling, per account, kept in the database (wrong passwords and wrong codes alike).
    LOGIN_MAX_FAILURES = _int_env("LOGIN_MAX_FAILURES", 10)
    LOGIN_LOCK_MINUTES = _int_env("LOGIN_LOCK_MINUTES", 15)
    # Rate limits of the login steps (password, then code), over a moving window: per client
    # address, and per account (the username typed, or the one waiting for its code). A person
    # needs 2 requests to log in, so 10 a minute leaves room for typos; 30 a minute lets a ward's
    # shared computer log in 15 people a minute. Any "N per second|minute|hour|day", ";" between.
    LOGIN_RATE_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_RATE_LIMIT_PER_ADDRESS") or "30 per minute"
    LOGIN_RATE_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_RATE_LIMIT_PER_ACCOUNT") or "10 per minute"
    RATELIMIT_ENABLED = True
    # Where the counts are kept: memory (per worker process) or e.g. redis://127.0.0.1:6379
    # (shared by every worker and host).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"
    RATELIMIT_KEY_PREFIX = "periop"  # the counts' names start with it (one Redis, several sites)
    # Reverse proxies in front of Periop that add X-Forwarded-For: the client address is read
    # from that many hops of it. 0: the connection's own address (the header is ignored).
    PROXY_COUNT = _int_env("PROXY_COUNT", 0)
    # Roles that must log in with a second factor (two-step login, ASVS 6.3.3): "all", "none"
    # or role values separated by commas. All of them unless the environment says otherwise.
    MFA_REQUIRED_ROLES = os.environ.get("MFA_REQUIRED_ROLES") or "all"

    # Argon2id at or above OWASP's minimum (m=19 MiB, t=2, p=1).
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19 * 1024
    ARGON2_PARALLELISM = 1

    WTF_CSRF_TIME_LIMIT = 3600
    BOOTSTRAP_SERVE_LOCAL = True
    MAX_CONTENT_LENGTH = 1024 * 1024
    # Number of commits between two WAL checkpoints on SQLite.
    SQLITE_CHECKPOINT_EVERY = 200

    @classmethod
    def validate(cls, settings: dict) -> None:
        """Refuse settings that are unsafe for this environment."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEMO_MODE = True
    # The demo logs in with the printed passwords alone unless the environment asks for more.
    MFA_REQUIRED_ROLES = os.environ.get("MFA_REQUIRED_ROLES") or "none"
    SESSION_COOKIE_NAME = "periop_session"
    SESSION_COOKIE_SECURE = False

    @classmethod
    def validate(cls, settings: dict) -> None:
        if not settings.get("SECRET_KEY"):
            settings["SECRET_KEY"] = _local_secret_key()


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    DEMO_MODE = True
    SECRET_KEY = secrets.token_hex(32)  # a fresh key per test process
    SESSION_COOKIE_NAME = "periop_session"
    SESSION_COOKIE_SECURE = False
    # Tests that need two-step login or rate limits set them themselves (the environment is not read):
    # the suite logs in many times a minute from one address.
    MFA_REQUIRED_ROLES = "none"
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    PROXY_COUNT = 0
    # Cheap hashing keeps the suite fast; production uses the class defaults.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1


class ProductionConfig(Config):
    ENV_NAME = "production"
    DEBUG = False
    SESSION_COOKIE_NAME = "__Host-periop"
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def validate(cls, settings: dict) -> None:
        key = settings.get("SECRET_KEY") or ""
        if not key:
            raise ConfigError(
                "SECRET_KEY is not set. Production mode needs a random key of at least "
                f"{MIN_SECRET_KEY_BYTES} characters, e.g. "
                "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
            )
        too_plain = len(set(key)) < MIN_DISTINCT_KEY_CHARS  # e.g. "changeme" repeated
        if len(key) < MIN_SECRET_KEY_BYTES or key.lower() in KNOWN_WEAK_KEYS or too_plain:
            raise ConfigError(
                f"SECRET_KEY is too weak: use a random key of at least {MIN_SECRET_KEY_BYTES} characters."
            )
        if settings.get("DEMO_MODE"):
            raise ConfigError("DEMO_MODE cannot be on in production.")


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}


def config_class(name: str | None = None) -> type[Config]:
    """Return the configuration class named by PERIOP_ENV (production by default)."""
    name = name or os.environ.get("PERIOP_ENV", "production")
    try:
        return CONFIGS[name]
    except KeyError as exc:
        raise ConfigError(f"PERIOP_ENV must be one of {', '.join(CONFIGS)}, got {name!r}") from exc
