"""vswidget: embeddable 'X vs Y' comparison widgets.

Importing vswidget starts nothing: no app, no connection.
"""

from .app import create_app
from .client import Client, Published, Signup, Stats, Summary, Webhook
from .document import Comparison, Item, Link, Newsletter, Reviewer, Verdict
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

__version__ = "0.1.0.dev0"

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
    "ServerError",
    "Signup",
    "Stats",
    "Summary",
    "UnsupportedMediaType",
    "ValidationError",
    "VSWidgetError",
    "Verdict",
    "Webhook",
    "create_app",
]
