"""The application factory: settings, extensions, blueprints. It only assembles."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_smorest import Api
from limits import parse_many
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import errors
from ..errors import ConfigurationError
from . import config, event_budgets, headers, inbound, localized, openapi, public_bases, tallies
from .api_schemas import ErrorSchema
from .cached_reads import CachedReads
from .event_intake import EventIntake
from .extensions import cache, cache_config, db, limiter
from .memory_counters import storage_uri
from .private_files import private_folder
from .redis_settings import REDIS_TIMEOUTS
from .views import dashboard, demo, health, public, publisher, readers


class VSWidgetApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, documenting vswidget's one error body."""

    ERROR_SCHEMA = ErrorSchema


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the vswidget app; ``test_config`` overrides every other setting."""
    app = Flask(
        "vswidget.server",
        instance_path=os.path.abspath(os.environ["VSWIDGET_INSTANCE_PATH"])
        if os.environ.get("VSWIDGET_INSTANCE_PATH")
        else None,
        instance_relative_config=True,
    )
    app.config.update(config.defaults())
    app.config.from_pyfile("vswidget.cfg", silent=True)
    app.config.update(config.from_environ(os.environ))
    app.config.update(test_config or {})
    _complete(app)

    db.init_app(app)
    event_budgets.init_app(app)
    cache.init_app(app, config=cache_config(app.config["CACHE_URL"], app.config["CACHE_MAX_BYTES"]))
    public_bases.init_app(app)
    limiter.init_app(app)
    app.wsgi_app = CachedReads(app)  # type: ignore[method-assign]
    app.wsgi_app = EventIntake(app)  # type: ignore[method-assign]
    if app.config["TRUSTED_PROXIES"]:  # outermost: the layers inside see the reader's address
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    api = VSWidgetApi(app, spec_kwargs={"info": {"description": API_DESCRIPTION}})
    api.spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    api.register_blueprint(publisher.blp)
    app.register_blueprint(health.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(readers.bp)
    openapi.document_public_api(app, api.spec)
    app.register_blueprint(dashboard.bp)
    if app.config["DEMO"]:
        app.register_blueprint(demo.bp)
    app.jinja_env.globals["few_votes"] = tallies.FEW_VOTES
    localized.init_app(app)
    errors.init_app(app)
    inbound.init_app(app)
    headers.init_app(app)
    return app


API_DESCRIPTION = (
    "Publish 'X vs Y' comparisons and embed them anywhere. Authenticate with "
    "'Authorization: Bearer API_KEY'; create a key with `vswidget publisher create HANDLE`. "
    'Every error answers {"error": {"status", "message", "fields"}}.'
)


def _complete(app: Flask) -> None:
    """Fill in the settings derived from others and the fixed ones of our libraries."""
    cfg = app.config
    if not cfg["DATABASE_URL"]:
        private_folder(app.instance_path)
        cfg["DATABASE_URL"] = config.default_database_url(app.instance_path)
    if not cfg["SECRET_KEYS"]:
        cfg["SECRET_KEYS"] = config.instance_secret_keys(app.instance_path)
    config.check_secret_keys(cfg["SECRET_KEYS"])
    for name in (
        "VOTE_RATE_LIMIT",
        "SIGNUP_RATE_LIMIT",
        "EVENT_RATE_LIMIT",
        "AUTH_FAILURE_RATE_LIMIT",
        "LOGIN_FAILURE_RATE_LIMIT",
        "READ_RATE_LIMIT",
    ):
        try:
            parse_many(cfg[name])
        except ValueError:
            raise ConfigurationError(
                f"VSWIDGET_{name}={cfg[name]!r} is not a rate limit such as '30/minute;300/day'."
            ) from None
    if not 1 <= cfg["IPV6_PREFIX"] <= 128:
        raise ConfigurationError(
            f"VSWIDGET_IPV6_PREFIX={cfg['IPV6_PREFIX']!r} must be a prefix length from 1 to 128, "
            "such as 64."
        )
    cfg.update(
        MAX_CONTENT_LENGTH=cfg["MAX_BODY_BYTES"],
        API_TITLE="vswidget",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"security": [{"apiKey": []}]},
        SEND_FILE_MAX_AGE_DEFAULT=300,
        RATELIMIT_STORAGE_URI=storage_uri(cfg["RATELIMIT_STORAGE_URL"]),
        RATELIMIT_STORAGE_OPTIONS=dict(REDIS_TIMEOUTS)
        if cfg["RATELIMIT_STORAGE_URL"].startswith(("redis", "rediss", "unix"))
        else {},
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
