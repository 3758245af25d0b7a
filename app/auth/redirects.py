"""Validate the post-login `next` target: same-site paths only."""

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """Return target if it is a local path, else None (no open redirects)."""
    if not target:
        return None
    if any(c in target for c in "\\\r\n\t") or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
