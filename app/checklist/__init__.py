from flask import Blueprint

bp = Blueprint("checklist", __name__)

from app.checklist import signoff_views, views  # noqa: E402,F401
