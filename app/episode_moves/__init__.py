"""Moving episodes to another protocol version: one episode from its page, or many at once."""

from flask import Blueprint

bp = Blueprint("episode_moves", __name__)

from app.episode_moves import views  # noqa: E402,F401
