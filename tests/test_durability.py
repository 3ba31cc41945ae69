"""Through the real server: exact counts under concurrency, and nothing acknowledged is lost."""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import LiveServer

from vswidget import Client

READERS = 150
UNLIMITED = "1000000/minute"


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Any:
    server = LiveServer(
        tmp_path,
        workers=2,
        DATABASE_URL=database_url,
        VOTE_RATE_LIMIT=UNLIMITED,
        SIGNUP_RATE_LIMIT=UNLIMITED,
    ).start()
    yield server
    server.stop()


def publish(server: LiveServer, document: dict[str, Any]) -> tuple[Client, str]:
    sdk = Client(server.base, server.new_publisher("acme"))
    token = sdk.publish(document).token
    ticket = httpx.get(f"{server.base}/v1/payload/{token}").json()["ticket"]
    return sdk, ticket


def cast(
    base: str, ticket: str, reader: int, item: str, receipt: str | None = None
) -> dict[str, Any]:
    body = {"ticket": ticket, "item": item, **({"receipt": receipt} if receipt else {})}
    response = httpx.post(
        f"{base}/v1/votes",
        content=json.dumps(body),
        headers={"Content-Type": "text/plain", "User-Agent": f"reader-{reader}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def stored_counts(sdk: Client) -> dict[str, int]:
    return {item.key: item.votes or 0 for item in sdk.get("kettle-vs-moka-pot").items}


def test_many_readers_at_once_through_two_workers_are_counted_exactly(
    server: LiveServer, document: dict[str, Any]
) -> None:
    sdk, ticket = publish(server, document)

    def reader(n: int) -> str:
        first = cast(server.base, ticket, n, "kettle")
        if n % 3 == 0:  # a third change their mind: their vote moves
            return str(cast(server.base, ticket, n, "moka", first["receipt"])["choice"])
        return str(first["choice"])

    with ThreadPoolExecutor(max_workers=12) as pool:
        choices = Counter(pool.map(reader, range(READERS)))
    assert choices == {"kettle": READERS - READERS // 3, "moka": READERS // 3}
    assert stored_counts(sdk) == dict(choices)
    sdk.close()


def test_acknowledged_votes_survive_a_sigkill(server: LiveServer, document: dict[str, Any]) -> None:
    sdk, ticket = publish(server, document)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: cast(server.base, ticket, n, "moka"), range(120)))
    assert all(answer["choice"] == "moka" for answer in answers)
    server.kill()  # at once after the last acknowledgement: no clean shutdown
    server.start()
    assert stored_counts(sdk) == {"kettle": 0, "moka": 120}
    sdk.close()


def test_acknowledged_signups_survive_a_sigkill(
    server: LiveServer, document: dict[str, Any]
) -> None:
    sdk, ticket = publish(server, document)
    for n in range(20):
        body = {"ticket": ticket, "email": f"reader{n}@example.com", "consent": True}
        response = httpx.post(f"{server.base}/v1/signups", content=json.dumps(body))
        assert response.status_code == 200
    server.kill()
    server.start()
    assert len(sdk.signups()) == 20
    sdk.close()
