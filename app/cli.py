"""Command-line tools: flask users create|token, flask deploy, flask setup, flask demo, flask worker, flask outbox."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app

from app.clock import ManualClock
from app.config import ConfigError
from app.services.definitions.deploy import deploy_from_disk
from app.services.errors import ServiceError
from app.services.runtime import Runtime


def _runtime() -> Runtime:
    return cast(Runtime, current_app.extensions["kefu"])


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(deploy)
    app.cli.add_command(setup)
    app.cli.add_command(demo)
    app.cli.add_command(worker)
    app.cli.add_command(outbox)
    # Beside Flask-Migrate's own (upgrade, downgrade, current…): flask db copy, flask db backup.
    from flask_migrate.cli import db as migrate_group

    migrate_group.add_command(copy_database_command)
    migrate_group.add_command(backup_database_command)


@click.group(help="Manage users and API tokens.")
def users() -> None:
    pass


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="A role key; repeat for several.")
@click.option("--department", "departments", multiple=True, help="A department key; repeat for several.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--display-name", default=None)
@click.option("--phone", default=None, help="A mobile for urgent texts (11 digits starting with 1, +86 optional).")
def create_user_command(username: str, roles: tuple[str, ...], departments: tuple[str, ...], password: str,
                        display_name: str | None, phone: str | None) -> None:
    from app.services.people.users import create_user

    try:
        create_user(username, password=password, roles=roles, departments=departments,
                    display_name=display_name, phone=phone, clock=_runtime().clock)
    except ServiceError as exc:
        raise click.ClickException(str(exc.message)) from exc
    click.echo(f"created {username}")


@users.command("token")
@click.argument("username")
def token_command(username: str) -> None:
    """Print a new API token for USERNAME (shown once)."""
    from app.services.people.auth import issue_token
    from app.services.people.users import find_user

    user = find_user(username)
    if user is None:
        raise click.ClickException(f"no user {username}")
    click.echo(issue_token(user, _runtime().clock))


@click.command(help="Deploy what changed in BPMN_DIR and FORMS_DIR since the last deploy from disk.")
def deploy() -> None:
    _deploy_from_disk()


@click.command(help="Migrate the database to head, then deploy from disk, under a database-wide lock: "
                    "every node may run it at start-up, one does the work and the others find it done.")
def setup() -> None:
    from flask_migrate import upgrade

    from app.database import setup_lock
    from app.extensions import db

    with setup_lock(db.engine):
        upgrade()
        _deploy_from_disk()


def _deploy_from_disk() -> None:
    try:
        versions = deploy_from_disk(_runtime(), current_app.config["BPMN_DIR"], current_app.config["FORMS_DIR"])
    except ServiceError as exc:
        for problem in exc.details.get("problems", []):
            click.echo(f"  {problem.file} {problem.element_id or '-'}: {problem.message}", err=True)
        raise click.ClickException(str(exc.message)) from exc
    if not versions:
        click.echo("nothing changed on disk")
    for version in versions:
        click.echo(f"deployed {version.process_id} v{version.version} ({version.title})")


@click.command(help="Fill a new database with demo users, projects and a month of tickets (development only).")
def demo() -> None:
    from app.demo.seed import DEMO_PASSWORD, create_demo_estate, create_demo_users, demo_owner
    from app.demo.simulation import DEMO_DAYS, create_demo_tickets, describe_tickets

    if current_app.config["KEFU_ENV"] != "development":
        raise click.ClickException("flask demo runs only with KEFU_ENV=development")
    rt = _runtime()
    now = rt.clock.now()
    units = create_demo_estate()
    if units:
        click.echo(f"demo estate: 3 projects, {units} units and common areas")
    created = create_demo_users(ManualClock(now - timedelta(days=DEMO_DAYS + 1)))  # they were there before the calls
    if created:
        click.echo(f"demo users (password: {DEMO_PASSWORD}):")
        for user in created:
            click.echo(f"  {user.username:<18} {', '.join(sorted(user.role_keys))}")
    else:
        click.echo("demo users already exist")
    owner = demo_owner()
    if owner is not None:
        name, phone, unit = owner
        click.echo(f"owner pages: /owner/ — sign in as {name} ({unit}) with {phone}; "
                   f"the texted code: flask outbox --to {phone}")
    try:
        tickets = create_demo_tickets(now, rt.timezone, days=DEMO_DAYS)
    except ServiceError as exc:
        click.echo(f"no demo tickets: {exc.message}")
        return
    click.echo(describe_tickets(tickets, DEMO_DAYS) if tickets else "demo tickets already exist")


@click.command(help="Run due jobs (timers, reminders, escalations, reports) and send the outbox; then wait for more.")
@click.option("--once", is_flag=True, help="Run what is due now and exit.")
@click.option("--lock-seconds", type=int, default=None, help="How long a taken job stays locked (WORKER_LOCK_SECONDS).")
def worker(once: bool, lock_seconds: int | None) -> None:
    from app import settle_process
    from app.worker import Worker

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if lock_seconds is not None:
        app.config["WORKER_LOCK_SECONDS"] = lock_seconds
    try:
        job_worker = Worker(app)
    except ConfigError as exc:  # a real SMS provider chosen without its keys or template ids
        raise click.ClickException(str(exc)) from exc
    if once:
        click.echo(f"ran {job_worker.run_pending()}")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settle_process(app, pages=False)
    job_worker.run_forever()


@click.command(help="List the texts sent to a mobile number, newest first, with their rendered text and status.")
@click.option("--to", "phone", required=True, help="The mobile number (11 digits, +86 optional).")
@click.option("--limit", type=int, default=20, show_default=True)
def outbox(phone: str, limit: int) -> None:
    from app.services.jobs.notifications import texts_to

    texts = texts_to(phone, limit=limit)
    if not texts:
        click.echo(f"no texts to {phone}")
    for text in texts:
        when = text.created_at.astimezone(ZoneInfo(_runtime().timezone)).strftime("%Y-%m-%d %H:%M")
        error = f" ({text.last_error})" if text.status != "sent" and text.last_error else ""
        click.echo(f"{when}  {text.status:<7} {text.template or '-'}  ticket {text.ticket_number or '-'}{error}")
        click.echo(f"    {text.body}")


@click.command("copy", help="Copy this SQLite deployment into an EMPTY PostgreSQL database: migrate it to head, "
                            "copy every table in batches, set the sequences, compare the row counts.")
@click.option("--to", "target_url", required=True, help="postgresql+psycopg://user@host:5432/name (must be empty).")
@click.option("--batch", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="Rows per insert.")
def copy_database_command(target_url: str, batch: int) -> None:
    import tempfile
    from pathlib import Path

    from sqlalchemy import create_engine

    from app.extensions import db
    from app.services.ops.backup import backup_sqlite
    from app.services.ops.db_copy import CopyError, copy_rows, target_is_empty

    source = db.engine
    if source.dialect.name != "sqlite" or not source.url.database:
        raise click.ClickException("flask db copy copies a SQLite deployment: DATABASE_URL names no SQLite file")
    if not target_url.startswith("postgresql"):
        raise click.ClickException("--to must name a PostgreSQL database (postgresql+psycopg://…)")
    target = create_engine(target_url)
    try:
        if not target_is_empty(target):
            raise click.ClickException("the target database is not empty: copy into a new one (createdb)")
        _migrate(target_url)
        click.echo("target migrated to head")
        with tempfile.TemporaryDirectory() as folder:  # a snapshot of the live file: the app may keep running
            snapshot = Path(folder) / "snapshot.db"
            backup_sqlite(Path(source.url.database), snapshot)
            reader = create_engine(f"sqlite:///{snapshot}")
            try:
                counts = copy_rows(reader, target, batch=batch,
                                   progress=lambda table, rows: click.echo(f"  copied {table}: {rows}"))
            except CopyError as exc:
                raise click.ClickException(str(exc)) from exc
            finally:
                reader.dispose()
    finally:
        target.dispose()
    click.echo(f"{'table':<32} {'sqlite':>9} {'postgresql':>11}")
    for count in counts:
        click.echo(f"{count.table:<32} {count.source:>9} {count.target:>11}")
    click.echo(f"copied {len(counts)} tables, {sum(c.target for c in counts)} rows; the counts agree")


def _migrate(url: str) -> None:
    """Run the migrations on another database: an app of its own, so Flask-Migrate's env.py finds it."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    config = current_app.config
    other = create_app({"KEFU_ENV": config["KEFU_ENV"], "SECRET_KEY": config["SECRET_KEY"],
                        "SQLALCHEMY_DATABASE_URI": url}, clock=_runtime().clock)
    with other.app_context():
        upgrade()
        db.engine.dispose()


@click.command("backup", help="Back the database up while the app runs: SQLite by its online backup API, "
                              "PostgreSQL by pg_dump -Fc (restore: see README, Operations).")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The new backup file (never overwritten).")
def backup_database_command(target: str) -> None:
    from pathlib import Path

    from app.extensions import db
    from app.services.ops.backup import BackupError, backup_postgres, backup_sqlite

    engine = db.engine
    try:
        if engine.dialect.name == "sqlite" and engine.url.database:
            backup_sqlite(Path(engine.url.database), Path(target),
                          busy_timeout_ms=current_app.config["SQLITE_BUSY_TIMEOUT_MS"])
        elif engine.dialect.name == "postgresql":
            backup_postgres(engine.url.render_as_string(hide_password=False), Path(target))
        else:
            raise click.ClickException(f"no backup for a {engine.dialect.name} database")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backed up to {target} ({Path(target).stat().st_size} bytes)")
