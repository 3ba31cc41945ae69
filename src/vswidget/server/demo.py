"""The demo publisher and comparison that ``vswidget serve --demo`` sets up."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import update

from ..errors import NotFound
from ..schemas import load_comparison
from . import store
from .extensions import db
from .models import api_keys, utcnow

DEMO_HANDLE = "demo"


@dataclass(frozen=True)
class Demo:
    """The demo comparison's slug, and the API key and dashboard password of 'demo'."""

    slug: str
    api_key: str
    password: str


def demo_document() -> dict[str, Any]:
    """Return the comparison shipped with vswidget for newcomers, normalized."""
    text = (files("vswidget.server") / "data" / "demo.yaml").read_text(encoding="utf-8")
    return load_comparison(yaml.safe_load(text))


def publish_demo() -> Demo:
    """Publish the demo comparison as publisher 'demo', with a fresh API key and password.

    Earlier demo keys are revoked and the earlier password replaced, so only what was
    printed last works.
    """
    try:
        publisher = store.get_publisher(DEMO_HANDLE)
    except NotFound:
        publisher, key = store.create_publisher(DEMO_HANDLE)
    else:
        with db.writing() as sql:
            sql.execute(
                update(api_keys)
                .where(api_keys.c.publisher_id == publisher.id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        key = store.issue_api_key(DEMO_HANDLE)
    password = secrets.token_urlsafe(12)
    store.set_password(DEMO_HANDLE, password)
    document = demo_document()
    store.save_comparison(publisher, document)
    return Demo(document["slug"], key, password)
