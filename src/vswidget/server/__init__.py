"""The vswidget server: the Flask app, its storage, its jobs and its views.

Installed with the extra ``vswidget[server]``. ``create_app`` builds the app; gunicorn
serves ``vswidget.server:create_app()``.
"""

from .app import create_app

__all__ = ["create_app"]
