from flask import Blueprint

bp = Blueprint("checklist", __name__)

from app.checklist import print_views, signoff_views, views  # noqa: E402,F401
