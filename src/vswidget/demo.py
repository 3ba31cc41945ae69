"""The demo publisher and comparison that ``vswidget serve --demo`` sets up."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import yaml

from . import store
from .errors import NotFound
from .extensions import db
from .models import utcnow
from .schemas import load_comparison

DEMO_HANDLE = "demo"


def demo_document() -> dict[str, Any]:
    """Return the comparison shipped with vswidget for newcomers, normalized."""
    text = (files("vswidget") / "data" / "demo.yaml").read_text(encoding="utf-8")
    return load_comparison(yaml.safe_load(text))


def publish_demo() -> tuple[str, str]:
    """Publish the demo comparison as publisher 'demo'; return its slug and a fresh API key.

    Earlier demo keys are revoked, so only the key printed last works.
    """
    try:
        publisher = store.get_publisher(DEMO_HANDLE)
    except NotFound:
        publisher, key = store.create_publisher(DEMO_HANDLE)
    else:
        with db.writing():
            for old in publisher.api_keys:
                old.revoked_at = old.revoked_at or utcnow()
        key = store.issue_api_key(DEMO_HANDLE)
    document = demo_document()
    store.save_comparison(publisher, document)
    return document["slug"], key
