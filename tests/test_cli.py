"""The command-line tools an operator uses on a new installation."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Project, Unit, User


def test_flask_demo_fills_a_new_development_database_and_prints_the_logins(app):
    app.config["KEFU_ENV"] = "development"
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "kefu-demo-2026" in result.output
    for username in ("agent", "night", "supervisor", "tech", "manager", "designer", "admin"):
        assert username in result.output
    assert db.session.scalar(select(func.count()).select_from(Project)) == 3
    assert db.session.scalar(select(func.count()).select_from(Unit)) > 100
    again = app.test_cli_runner().invoke(args=["demo"])
    assert "already exist" in again.output
    # Whom a night emergency texts has a mobile: the CS supervisor and the engineers who may be on call.
    phones = {name: phone for name, phone in db.session.execute(select(User.username, User.phone))}
    assert all(phones[name] and phones[name].startswith("138") for name in ("supervisor", "eng_super", "tech"))


def test_flask_demo_refuses_to_run_outside_development(app):
    app.config["KEFU_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_user_created_on_the_command_line_can_call_the_api_with_a_printed_token(app, client):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "wang", "--role", "cs_agent", "--department", "property",
                                  "--password", "s3cret-pass"])
    assert created.exit_code == 0, created.output
    token = runner.invoke(args=["users", "token", "wang"]).output.strip()
    response = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_creating_a_user_with_an_unknown_role_fails_with_a_message(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "li", "--role", "janitor",
                                                "--password", "long-enough-9"])
    assert result.exit_code != 0
    assert "unknown role: janitor" in result.output


def test_a_user_created_on_the_command_line_gets_a_mobile_and_a_landline_is_refused(app):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "zheng", "--role", "technician", "--password", "s3cret-pass",
                                  "--phone", "138 0013 8000"])
    assert created.exit_code == 0, created.output
    assert db.session.scalars(select(User.phone).where(User.username == "zheng")).one() == "13800138000"
    refused = runner.invoke(args=["users", "create", "li", "--role", "technician", "--password", "s3cret-pass",
                                  "--phone", "0571-88886666"])
    assert refused.exit_code != 0
    assert "11-digit mobile number" in refused.output  # the CLI speaks English, as its other messages
    assert db.session.scalars(select(User).where(User.username == "li")).first() is None
