"""Command-line tools: flask users create|token, flask deploy, flask demo, flask worker, flask outbox."""

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
    app.cli.add_command(demo)
    app.cli.add_command(worker)
    app.cli.add_command(outbox)


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
    from app.demo.seed import DEMO_PASSWORD, create_demo_estate, create_demo_users
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
