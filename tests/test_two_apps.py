"""Two apps in one process, with different settings and databases, do not disturb each other:
create_app sets no module globals (the database, the site's zone and thresholds, the password
cost travel with each app)."""

from datetime import date

import pytest
from sqlalchemy import func, select, update

from app import create_app, db
from app.domain.vocab import Role
from app.migrate import upgrade
from app.models import User
from app.services.users import create_user
from app.web import site_day
from tests.conftest import PASSWORD, make_test_app


def test_two_apps_keep_their_own_database_zone_thresholds_and_password_cost(sqlite_template, tmp_path):
    first = next(make_test_app(sqlite_template(tmp_path)))  # the worker's database, UTC
    second_engine = db.make_engine(f"sqlite:///{tmp_path / 'second.db'}")
    upgrade(second_engine)
    second = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'second.db'}",
            "TIMEZONE": "Pacific/Kiritimati",  # UTC+14: already tomorrow at midday UTC
            "MCID_ODI_POINTS": 15,
            "ARGON2_TIME_COST": 3,
        },
        engine=second_engine,
    )
    try:
        for app, username in ((first, "first"), (second, "second")):
            with app.app_context(), db.write_unit():
                create_user(db.session, None, username, f"User {username}", Role.NURSE, PASSWORD)
                db.session.commit()

        with first.test_request_context():
            assert db.session.scalars(select(User.username)).all() == ["first"]
            day = site_day()
            assert (day.date, day.zone, day.thresholds.odi_points) == (date(2026, 6, 17), "UTC", 10)
            assert ",t=1," in db.session.scalar(select(User.password_hash))
        with second.test_request_context():
            assert db.session.scalars(select(User.username)).all() == ["second"]
            day = site_day()
            assert (day.date, day.zone, day.thresholds.odi_points) == (
                date(2026, 6, 18),
                "Pacific/Kiritimati",
                15,
            )
            assert ",t=3," in db.session.scalar(select(User.password_hash))
        with first.app_context():  # and the first is as it was
            assert db.session.scalar(select(func.count()).select_from(User)) == 1
            assert site_day().zone == "UTC"
    finally:
        second.extensions[db.SESSIONS].remove()
        second_engine.dispose()


def test_a_get_reads_without_a_transaction_on_postgresql_and_a_post_writes_in_one(app):
    """On PostgreSQL a GET's statements run without BEGIN and ROLLBACK (two round trips fewer,
    nothing lost under READ COMMITTED); a POST still writes in one transaction. On SQLite both
    run in transactions (a read keeps its page on one snapshot)."""
    postgresql = app.extensions["periop_engine"].dialect.name == "postgresql"
    db.session.remove()  # each request starts with a session of its own
    with app.test_request_context("/dashboard", method="GET"):
        app.preprocess_request()
        connection = db.session.connection()
        assert (connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT") is postgresql
        if postgresql:
            assert connection.connection.dbapi_connection.autocommit
    db.session.remove()
    with app.test_request_context("/dashboard", method="POST"):
        app.preprocess_request()
        connection = db.session.connection()
        assert "isolation_level" not in connection.get_execution_options()
        if postgresql:
            assert not connection.connection.dbapi_connection.autocommit
        assert db.writing.get()


def test_a_get_that_tried_to_write_would_be_refused_and_nothing_saved(app, users):
    """A GET only reads: its session refuses a change (on PostgreSQL it has no transaction that
    could undo one), by the ORM or by a statement."""
    db.session.remove()
    with app.test_request_context("/dashboard", method="GET"):
        app.preprocess_request()
        nurse = db.session.scalars(select(User).where(User.role == Role.NURSE)).first()
        nurse.full_name = "Changed by a GET"
        with pytest.raises(db.WriteInRead):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(db.WriteInRead):
            db.session.execute(update(User).where(User.id == nurse.id).values(full_name="Changed"))
    db.session.remove()
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(User.full_name.like("Changed%"))) == 0
