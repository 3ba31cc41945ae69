"""Who may see the dashboard: login, logout, the server-side session, CSRF tokens.

A publisher logs in with the password set by ``vswidget publisher password``; the
session is Flask's signed cookie naming a session kept on the server
(``sessions.py``), failed logins are counted in the database (``login_limits.py``),
and every form carries a CSRF token bound to the session.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import cast
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from ....errors import BadRequest
from ... import login_limits, sessions, store
from ...networks import reader_address
from ...store import Publisher
from .inputs import LoginForm, load

SESSION_DAYS = 14
# The pages anyone may open: the login form and what share links show.
OPEN_ENDPOINTS = {"dashboard.login", "dashboard.shared", "dashboard.shared_csv"}


class CsrfRefused(BadRequest):
    default_message = (
        "This form is out of date or did not come from your dashboard, so nothing was "
        "changed. Go back, reload the page and try again."
    )


def configure_sessions(state: BlueprintSetupState) -> None:
    """Sign the session cookie with the key list and keep it to the dashboard."""
    config = state.app.config
    keys: list[str] = config["SECRET_KEYS"]
    state.app.secret_key = keys[-1]
    config.update(
        SECRET_KEY_FALLBACKS=keys[:-1],
        SESSION_COOKIE_NAME="vsw_dashboard",
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(config.get("PUBLIC_URL") or "").startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(days=SESSION_DAYS),
    )


def guard() -> ResponseReturnValue | None:
    """Check the CSRF token of every POST, then ask for a login where one is needed."""
    if request.method == "POST":
        check_csrf()
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    publisher = current_publisher()
    if publisher is None:
        here = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for(".login", next=safe_next(here)), 303)
    g.publisher = publisher
    return None


def csrf_token() -> str:
    """Return the session's CSRF token, making one on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Refuse a form whose token is missing or not this session's."""
    expected = session.get("csrf")
    sent = request.form.get("csrf", "")
    # As bytes: compare_digest refuses str with characters beyond ASCII.
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), sent.encode()):
        raise CsrfRefused()


def current_publisher() -> Publisher | None:
    """Return the publisher whose session the cookie names, if it is still open."""
    session_id = session.get("session")
    return sessions.publisher_of(session_id) if isinstance(session_id, str) else None


def me() -> Publisher:
    """Return the logged-in publisher (``guard`` found them)."""
    return cast(Publisher, g.publisher)


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a dashboard path on this site, else None."""
    if not target or len(target) > 2000 or not target.startswith("/dashboard/"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


def login() -> ResponseReturnValue:
    """The login form; a failed login says only that it failed."""
    if request.method == "GET":
        target = safe_next(request.args.get("next"))
        if current_publisher() is not None:
            return redirect(target or url_for(".overview"), 303)
        return render_template("dashboard/login.html", next=target, handle="", failed=False)
    form = load(LoginForm(), request.form)
    target = safe_next(form["next"])
    attempt = login_limits.begin(reader_address(), current_app.config["LOGIN_FAILURE_RATE_LIMIT"])
    publisher = store.publisher_for_login(form["handle"], form["password"])
    if publisher is None:
        html = render_template(
            "dashboard/login.html", next=target, handle=form["handle"], failed=True
        )
        return html, 200
    login_limits.succeeded(attempt)
    session.clear()
    session.permanent = True
    session["session"] = sessions.open_session(publisher, timedelta(days=SESSION_DAYS))
    csrf_token()
    return redirect(target or url_for(".overview"), 303)


def logout() -> ResponseReturnValue:
    """Ask to log out (GET), log out (POST): the session ends on the server too."""
    if request.method == "GET":
        return render_template("dashboard/logout.html", publisher=me())
    sessions.close_session(session["session"])
    session.clear()
    flash("You are logged out.")
    return redirect(url_for(".login"), 303)
