from flask import Blueprint

bp = Blueprint("therapy", __name__)

from app.therapy import views  # noqa: E402,F401
