"""What a reader's browser downloads for a widget, as `vswidget serve` sends it."""

from __future__ import annotations

import gzip
from pathlib import Path

import yaml
from flask.testing import FlaskClient

SEED = Path(__file__).parents[1] / "examples" / "comparisons" / "whisper-vs-parakeet.yaml"
GZIP = {"Accept-Encoding": "gzip, deflate, br, zstd"}  # what Chromium asks over http
WIDGET_BUDGET = 7000  # bytes of widget.js, its stylesheet inside, gzipped
TRANSFER_BUDGET = 12_000  # widget.js and the seed comparison's payload, as sent


def test_widget_js_goes_out_gzipped_to_a_browser_that_asks_and_plain_to_one_that_does_not(
    client: FlaskClient,
) -> None:
    zipped = client.get("/widget.js", headers=GZIP)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert zipped.headers["Content-Type"].startswith("text/javascript")
    plain = client.get("/widget.js")
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.data) == plain.data
    again = client.get("/widget.js", headers={**GZIP, "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304


def test_a_readers_whole_transfer_for_the_seed_comparison_fits_the_budget(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    document = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    token = client.post("/api/v1/comparisons", json=document, headers=auth).json["embed"]["token"]
    script = client.get("/widget.js", headers=GZIP)
    payloads = client.get(f"/v1/payloads?t={token}", headers=GZIP)
    assert payloads.headers["Content-Encoding"] == "gzip"
    assert len(script.data) <= WIDGET_BUDGET
    assert len(script.data) + len(payloads.data) <= TRANSFER_BUDGET, (
        f"widget.js {len(script.data)} B + payload {len(payloads.data)} B"
    )
