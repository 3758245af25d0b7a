"""Periop: the application factory."""

import logging
import os
import sqlite3

from flask import Flask, g, request
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session

from app import db
from app.domain.second_factor import required_roles
from app.domain.site import Site
from app.domain.vocab import Role
from app.web import site
from app.web.urls import RecordIdConverter
from config import ConfigError, config_class

log = logging.getLogger(__name__)

csrf = CSRFProtect()
login_manager = LoginManager()
bootstrap = Bootstrap5()

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READING_ENGINE = "periop_reading_engine"


def create_app(test_config: dict | None = None, engine: Engine | None = None) -> Flask:
    """Build the app; test_config overrides settings (and implies testing mode).

    `engine`: a database engine to serve instead of one made from DATABASE_URL (the test suite
    keeps one per worker, so SQLAlchemy's cache of compiled statements stays warm).
    """
    test_config = dict(test_config or {})
    default_env = "testing" if test_config else None
    cls = config_class(test_config.pop("PERIOP_ENV", None) or os.environ.get("PERIOP_ENV") or default_env)
    settings = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
    settings.update(test_config)
    cls.validate(settings)

    app = Flask(__name__, template_folder="../templates", instance_relative_config=False)
    app.url_map.converters["int"] = RecordIdConverter  # before any route is added
    app.config.update(settings)
    app.config["PERIOP_ENV"] = cls.ENV_NAME
    try:
        app.config["MFA_REQUIRED_ROLES"] = required_roles(app.config["MFA_REQUIRED_ROLES"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    exempt = sorted(r.value for r in set(Role) - app.config["MFA_REQUIRED_ROLES"])
    if cls.ENV_NAME == "production" and exempt:
        log.warning("Two-step login is not required of: %s (MFA_REQUIRED_ROLES)", ", ".join(exempt))

    if engine is None:
        engine = db.make_engine(app.config["DATABASE_URL"], app.config["SQLITE_CHECKPOINT_EVERY"])
    app.extensions["periop_engine"] = engine
    app.extensions[READING_ENGINE] = db.reading_engine(engine)
    app.extensions[db.SESSIONS] = scoped_session(
        db.make_session_factory(engine, Site.from_config(app.config))
    )
    if engine.dialect.name == "sqlite":
        log.info("SQLite %s at %s", sqlite3.sqlite_version, engine.url.database)

    csrf.init_app(app)
    bootstrap.init_app(app)
    _init_login(app)
    _init_requests(app)

    from app import cli, ratelimit
    from app.web import errors, once, templating

    once.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    _register_blueprints(app)
    ratelimit.init_app(app)
    return app


def _init_login(app: Flask) -> None:
    from app.auth import sessions

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # the server-side session record does this job
    login_manager.user_loader(sessions.load_user)


def _init_requests(app: Flask) -> None:
    @app.before_request
    def _start_unit():
        if request.method in WRITE_METHODS:
            g.writing_token = db.writing.set(True)
        else:  # a GET only reads (tests/web/test_security.py): no transaction on PostgreSQL
            db.only_reads(db.session(), app.extensions[READING_ENGINE])
        db.session().info["site"] = site()  # the request's settings, for the services and stored flags

    @app.teardown_request
    def _end_writes(_exc):
        token = g.pop("writing_token", None)
        if token is not None:
            db.writing.reset(token)

    @app.teardown_appcontext
    def _end_unit(_exc):
        db.session.remove()  # after a request and after a command: no connection stays checked out

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers["Content-Security-Policy"] = (
            "default-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'"
        )
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["X-Frame-Options"] = "DENY"
        if app.config["SESSION_COOKIE_SECURE"]:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if not request.path.startswith("/static") and not request.path.startswith("/bootstrap"):
            headers["Cache-Control"] = "no-store"
        return response


def _register_blueprints(app: Flask) -> None:
    from app.admin import bp as admin_bp
    from app.auth import bp as auth_bp
    from app.checklist import bp as checklist_bp
    from app.dashboard import bp as dashboard_bp
    from app.episode_moves import bp as episode_moves_bp
    from app.main import bp as main_bp
    from app.outcomes import bp as outcomes_bp
    from app.patients import bp as patients_bp
    from app.protocol_admin import bp as protocols_bp
    from app.therapy import bp as therapy_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(patients_bp)
    app.register_blueprint(checklist_bp)
    app.register_blueprint(protocols_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(episode_moves_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(outcomes_bp)
    app.register_blueprint(therapy_bp)
