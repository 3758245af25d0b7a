"""Rate limits on the two login steps (password, code), per client address and per account.

The per-account lockout (LOGIN_MAX_FAILURES wrong passwords or codes in a row) stops guessing
one account's password or code; these limits also slow down one address trying many accounts
(password spraying, unknown usernames that lock nothing) and any flood at one account, before
a password is even hashed. Only POSTs count: the pages themselves are never limited. Counts
live in RATELIMIT_STORAGE_URI: "memory://" counts per worker process, "redis://…" counts for
every worker together.
"""

import math
import re
import time
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from app.auth import pending
from config import ConfigError

EXTENSION = "periop_limiter"
ADDRESS_SCOPE = "login-address"
ACCOUNT_SCOPE = "login-account"
# Wait this long when the limiter cannot say (it always can while it is on).
DEFAULT_RETRY_SECONDS = 60
_NOT_IN_USERNAMES = re.compile(r"[^a-z0-9._-]")


def client_address() -> str:
    """The client's address: the connection's, or the one forwarded by the PROXY_COUNT proxies."""
    return request.remote_addr or "unknown"


def _typed_username() -> str:
    return request.form.get("username", "")


# The limited login steps, and where each finds the account it is for (one count for both).
LIMITED: dict[str, Callable[[], str]] = {
    "auth.login": _typed_username,
    "auth.login_code": pending.username,
}


def account_key(name: str) -> str:
    """The count key of an account: the username as logins read it (safe in logs and in Redis)."""
    return "account:" + _NOT_IN_USERNAMES.sub("?", name.strip().lower())[:64]


def init_app(app: Flask) -> None:
    """Trust PROXY_COUNT proxies for the client address and limit the login steps (after blueprints)."""
    for name in ("LOGIN_RATE_LIMIT_PER_ADDRESS", "LOGIN_RATE_LIMIT_PER_ACCOUNT"):
        try:
            parse_many(app.config[name])
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    proxies = app.config["PROXY_COUNT"]
    if proxies < 0:
        raise ConfigError("PROXY_COUNT must be 0 or more")
    if proxies:
        # Only X-Forwarded-For, and only as many hops as there are proxies of our own: the rest
        # of that header is whatever the client wrote.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    limiter = Limiter(
        key_func=client_address,
        app=app,
        strategy="moving-window",  # no burst of twice the limit across a window's edge
        in_memory_fallback_enabled=True,  # Redis unreachable: count in this process meanwhile
    )
    app.extensions[EXTENSION] = limiter

    def per_address() -> str:
        return app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"]

    def per_account() -> str:
        return app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"]

    for endpoint, account in LIMITED.items():
        view = app.view_functions[endpoint]
        view = limiter.shared_limit(
            per_account,
            ACCOUNT_SCOPE,
            key_func=lambda account=account: account_key(account()),
            methods=["POST"],
        )(view)
        view = limiter.shared_limit(per_address, ADDRESS_SCOPE, key_func=client_address, methods=["POST"])(
            view
        )
        app.view_functions[endpoint] = view


def retry_after_seconds() -> int:
    """Seconds until the limit this request hit lets the next attempt through."""
    limiter = current_app.extensions.get(EXTENSION)
    hit = limiter.current_limit if limiter is not None else None
    if hit is None:
        return DEFAULT_RETRY_SECONDS
    return max(1, math.ceil(hit.window.reset_time - time.time()))


def workers_warning(storage_uri: str, workers: int) -> str | None:
    """The warning to log when several worker processes would each keep their own counts."""
    if workers > 1 and storage_uri.startswith("memory://"):
        return (
            f"{workers} worker processes count login attempts apart (RATELIMIT_STORAGE_URI is memory://): "
            "each allows the whole limit. Set RATELIMIT_STORAGE_URI=redis://HOST:6379 to count them together."
        )
    return None
