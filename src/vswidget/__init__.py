"""vswidget: embeddable 'X vs Y' comparison widgets.

This package is the SDK a publisher imports: the comparison document, the client and
the errors. The server is ``vswidget.server`` (the extra ``vswidget[server]``); it uses
the SDK's schemas, and nothing here imports it. Importing vswidget starts nothing, and
the document classes (with YAML) and the client (httpx) are imported on first use, so a
server worker, which needs only the schemas, loads neither.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    AuthenticationError,
    BadRequest,
    ConfigurationError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ServerError,
    UnsupportedMediaType,
    ValidationError,
    VSWidgetError,
)

if TYPE_CHECKING:
    from .client import Client, Published, Segment, Signup, Stats, Summary, Webhook
    from .document import Comparison, Item, Link, Newsletter, Reviewer, Verdict

__version__ = "0.1.0.dev0"

DOCUMENT = ("Comparison", "Item", "Link", "Newsletter", "Reviewer", "Verdict")
CLIENT = ("Client", "Published", "Segment", "Signup", "Stats", "Summary", "Webhook")
LAZY = {**dict.fromkeys(DOCUMENT, "document"), **dict.fromkeys(CLIENT, "client")}

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "Client",
    "Comparison",
    "ConfigurationError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "MethodNotAllowed",
    "NotSupported",
    "Item",
    "Link",
    "Newsletter",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Published",
    "RateLimited",
    "Reviewer",
    "Segment",
    "ServerError",
    "Signup",
    "Stats",
    "Summary",
    "UnsupportedMediaType",
    "ValidationError",
    "VSWidgetError",
    "Verdict",
    "Webhook",
]


def __getattr__(name: str) -> Any:
    """Import a name of LAZY from its module the first time it is asked for."""
    if name not in LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{LAZY[name]}", __name__), name)
    globals()[name] = value
    return value
