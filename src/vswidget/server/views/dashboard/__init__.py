"""Site owners' pages: login, an overview, a comparison's figures, signed share links.

Server-rendered and usable without JavaScript; every answer is ``private, no-store``.
This package builds the one blueprint from modules of one job each:

- ``authentication.py``: login, logout, the server-side session, CSRF tokens;
- ``pages.py``: the overview and a comparison's page;
- ``report.py``: what a comparison's page shows, assembled from the rollups;
- ``segments.py``: its sources, devices and browsers, of every host page or one;
- ``share_links.py``: signed, expiring read-only links to a comparison's page;
- ``csv_export.py``: a page's figures as CSV;
- ``responses.py``: the headers, error pages and template helpers of every answer.

Every query and form is loaded by a schema (``inputs.py``).
"""

from flask import Blueprint

from ....errors import VSWidgetError
from . import authentication, csv_export, pages, responses, share_links

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

bp.record_once(authentication.configure_sessions)
bp.before_request(authentication.guard)
bp.after_request(responses.private)
bp.register_error_handler(VSWidgetError, responses.error_page)
bp.add_app_template_filter(responses.whole_number, "vsw_int")
bp.add_app_template_filter(responses.percent_or_dash, "vsw_percent")
bp.context_processor(responses.helpers)

bp.add_url_rule("/login", view_func=authentication.login, methods=["GET", "POST"])
bp.add_url_rule("/logout", view_func=authentication.logout, methods=["GET", "POST"])
bp.add_url_rule("/", view_func=pages.overview, methods=["GET"])
bp.add_url_rule("/c/<slug>", view_func=pages.comparison_page, methods=["GET"])
bp.add_url_rule("/c/<slug>.csv", view_func=csv_export.comparison_csv, methods=["GET"])
bp.add_url_rule("/c/<slug>/share", view_func=share_links.create_share, methods=["POST"])
bp.add_url_rule("/share/<token>", view_func=share_links.shared, methods=["GET"])
bp.add_url_rule("/share/<token>.csv", view_func=csv_export.shared_csv, methods=["GET"])
bp.add_url_rule("/<path:path>", view_func=responses.missing, methods=["GET", "POST"])
