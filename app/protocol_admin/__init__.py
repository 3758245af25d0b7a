"""Protocol administration: a clinical lead drafts, reviews, publishes and retires protocol
versions; every clinician may read them."""

from flask import Blueprint

bp = Blueprint("protocols", __name__, url_prefix="/protocols")

from app.protocol_admin import step_views, views  # noqa: E402, F401  (routes)
