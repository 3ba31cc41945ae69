"""Demo mode: a sample blog post with the demo comparison embedded."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from helpers import make_app

from vswidget.server import store
from vswidget.server.demo import DEMO_HANDLE, publish_demo
from vswidget.server.extensions import db


def test_demo_mode_serves_a_blog_post_with_the_demo_snippet(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path, DEMO=True)
    try:
        with app.app_context():
            slug = publish_demo().slug
        page = app.test_client().get("/demo").get_data(as_text=True)
        assert '<div class="vswidget" data-vswidget="' in page
        assert '<script async src="http://vs.test/widget.js" onerror="' in page
        assert app.test_client().get(f"/c/demo/{slug}").status_code == 200
    finally:
        db.dispose(app)


def test_publishing_the_demo_again_revokes_the_old_key_and_password(
    database_url: str, tmp_path: Path
) -> None:
    app = make_app(database_url, tmp_path)
    try:
        with app.app_context():
            earlier = publish_demo()
            latest = publish_demo()
            assert store.publisher_for_login(DEMO_HANDLE, earlier.password) is None
            assert store.publisher_for_login(DEMO_HANDLE, latest.password) is not None
        first, second = earlier.api_key, latest.api_key
        client = app.test_client()
        assert (
            client.get(
                "/api/v1/comparisons", headers={"Authorization": f"Bearer {first}"}
            ).status_code
            == 401
        )
        assert (
            client.get(
                "/api/v1/comparisons", headers={"Authorization": f"Bearer {second}"}
            ).status_code
            == 200
        )
    finally:
        db.dispose(app)


def test_without_demo_mode_there_is_no_demo_page(client: FlaskClient) -> None:
    assert client.get("/demo").status_code == 404
