"""Command-line tasks: flask migrate, load-protocols, create-user, seed-demo, overdue-report, audit."""

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from app import backup, clock, db, migrate
from app.audit_cli import audit_group
from app.domain.outstanding import OutstandingFilters
from app.domain.vocab import CLINICAL_ROLES, ItemState, Role
from app.models import User
from app.reports.outstanding import outstanding_csv, outstanding_text
from app.services import demo, protocols, stored_flags
from app.services.errors import ServiceError
from app.services.exports import record_export
from app.services.users import create_user
from app.web import site_day


def init_app(app: Flask) -> None:
    for command in (
        migrate_command,
        load_protocols_command,
        create_user_command,
        seed_demo_command,
        overdue_report_command,
        refresh_flags_command,
        backup_command,
        audit_group,
    ):
        app.cli.add_command(command)


def _engine():
    return current_app.extensions["periop_engine"]


@click.command("migrate")
@with_appcontext
def migrate_command() -> None:
    """Bring the database schema up to date (Alembic upgrade head)."""
    migrate.upgrade(_engine())
    with db.write_unit():
        filled = stored_flags.refresh_missing(db.session)
        db.session.commit()
    click.echo(
        "Database schema is up to date." + (f" Flags worked out for {filled} episodes." if filled else "")
    )


@click.command("load-protocols")
@with_appcontext
def load_protocols_command() -> None:
    """Publish the protocol files as versions (a changed file becomes a new version)."""
    with db.write_unit():
        results = protocols.load_all(db.session)
        db.session.commit()
        for version, created in results:
            state = "published" if created else "unchanged"
            click.echo(f"{version.template.name}: version {version.number} ({state})")


@click.command("create-user")
@with_appcontext
@click.option("--username", required=True)
@click.option("--full-name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.password_option(prompt="Password (at least 12 characters, hard to guess)")
def create_user_command(username: str, full_name: str, role: str, password: str) -> None:
    """Create a user account; the password is asked for, never passed on the command line."""
    with db.write_unit():
        try:
            user = create_user(db.session, None, username, full_name, Role(role), password)
        except ServiceError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
        db.session.commit()
    click.echo(f"Created {user.role.label.lower()} {user.username} ({user.full_name}).")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create the demo users and patients (demo mode only; skipped if users exist)."""
    if not current_app.config["DEMO_MODE"]:
        raise click.ClickException("seed-demo refuses to run in production mode: no demo accounts there.")
    with db.write_unit():
        if db.session.scalar(select(func.count()).select_from(User)):
            click.echo("Demo data already loaded (users exist); nothing changed.")
        else:
            demo.seed(db.session, clock.today(current_app.config["TIMEZONE"]))
            db.session.commit()
            click.echo("Demo data loaded.")
    click.echo(demo.logins_text())


@click.command("overdue-report")
@with_appcontext
@click.option(
    "--role",
    type=click.Choice(sorted(r.value for r in CLINICAL_ROLES)),
    help="Only the items this role is responsible for.",
)
@click.option("--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True)
def overdue_report_command(role: str | None, fmt: str) -> None:
    """Print the overdue items of open episodes, most overdue first (for a daily e-mail)."""
    day = site_day()
    filters = OutstandingFilters(state=ItemState.OVERDUE, role=Role(role) if role else None)
    with db.write_unit():
        record_export(db.session, None, "Printed the overdue report", filters.describe(), "export.overdue")
        db.session.commit()
    with db.read_unit():
        if fmt == "csv":
            for chunk in outstanding_csv(db.session, filters, day):
                click.echo(chunk, nl=False)
        else:
            for line in outstanding_text(db.session, filters, day):
                click.echo(line)


@click.command("backup")
@with_appcontext
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Copy the SQLite database to TARGET while Periop runs, and check the copy."""
    try:
        size = backup.backup_sqlite(_engine(), target)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up to {target} ({size / 1_048_576:.1f} MB); the copy passed its integrity check.")


@click.command("refresh-flags")
@with_appcontext
def refresh_flags_command() -> None:
    """Work out every episode's flags and outstanding items again, and count the tallies again
    (after changing the warning or MCID settings, or a bulk import that bypassed Periop)."""
    with db.write_unit():
        count = stored_flags.refresh_all(db.session)
        db.session.commit()
    click.echo(
        f"Flags worked out again for {count} episodes; outstanding items and flagged episodes counted again."
    )
