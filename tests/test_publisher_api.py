"""The publisher REST API under /api/v1, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from helpers import PUBLIC_URL, new_publisher

from vswidget.server import store

API = "/api/v1/comparisons"


def create(client: FlaskClient, auth: dict[str, str], document: dict[str, Any]) -> Any:
    return client.post(API, json=document, headers=auth)


def add_votes(app: Flask, slug: str, votes: dict[str, int]) -> None:
    """Cast reader votes, each from a different reader."""
    with app.app_context():
        comparison = store.get_comparison(store.get_publisher("acme"), slug)
        for key, count in votes.items():
            for n in range(count):
                store.cast_vote(comparison.id, key, voter=f"{key}-{n}")


def test_requests_without_an_api_key_get_401(client: FlaskClient) -> None:
    response = client.get(API)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in response.json["error"]["message"]


def test_an_unknown_api_key_gets_401(client: FlaskClient) -> None:
    response = client.get(API, headers={"Authorization": "Bearer vsw_not-a-key"})
    assert response.status_code == 401


def test_a_revoked_api_key_gets_401(
    app: Flask, client: FlaskClient, api_key: str, auth: dict[str, str]
) -> None:
    assert client.get(API, headers=auth).status_code == 200
    with app.app_context():
        store.revoke_api_key(api_key[:12])
    assert client.get(API, headers=auth).status_code == 401


def test_create_answers_201_with_location_etag_and_computed_fields(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    response = create(client, auth, document)
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"{API}/kettle-vs-moka-pot")
    assert response.headers["ETag"].startswith('"')
    body = response.json
    assert [item["panel_ship"] for item in body["items"]] == [100, 50]
    assert [item["community"] for item in body["items"]] == [None, None]
    assert body["votes"] == 0
    assert body["contested"] == ["moka"]
    assert body["embed"]["url"] == f"{PUBLIC_URL}/c/acme/kettle-vs-moka-pot"


def test_creating_an_existing_slug_answers_409_and_changes_nothing(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    create(client, auth, document)
    document["title"] = "Something else"
    response = create(client, auth, document)
    assert response.status_code == 409
    assert "PUT replaces it" in response.json["error"]["message"]
    assert (
        client.get(f"{API}/kettle-vs-moka-pot", headers=auth).json["title"]
        == "Electric Kettle vs Moka Pot"
    )


def test_put_creates_then_replaces(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    first = client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=auth)
    assert first.status_code == 201
    assert first.headers["Location"] == f"{PUBLIC_URL}{API}/kettle-vs-moka-pot"
    document["question"] = "Which one for a cabin weekend?"
    second = client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=auth)
    assert second.status_code == 200
    assert second.json["question"] == "Which one for a cabin weekend?"
    assert second.headers["ETag"] != first.headers["ETag"]


def test_put_with_a_slug_other_than_the_url_is_refused(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    response = client.put(f"{API}/another-slug", json=document, headers=auth)
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"slug": ["Must be 'another-slug', as in the URL."]}


def test_publishing_the_same_document_again_changes_nothing(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    first = create(client, auth, document)
    again = client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=auth)
    assert again.status_code == 200
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.json["updated_at"] == first.json["updated_at"]


def test_republishing_keeps_the_votes_of_items_whose_keys_remain(
    app: Flask, client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    create(client, auth, document)
    add_votes(app, "kettle-vs-moka-pot", {"kettle": 3, "moka": 1})
    document["items"][1] = {"key": "french-press", "name": "French Press"}
    for reviewer in document["panel"]:
        reviewer["verdicts"]["french-press"] = reviewer["verdicts"].pop("moka")
    body = client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=auth).json
    assert [(item["key"], item["votes"]) for item in body["items"]] == [
        ("kettle", 3),
        ("french-press", 0),
    ]
    assert body["votes"] == 3
    assert [item["community"] for item in body["items"]] == [100, 0]


def test_if_match_with_a_stale_etag_answers_412_and_changes_nothing(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    stale = create(client, auth, document).headers["ETag"]
    document["title"] = "Kettle vs Moka, round two"
    current = client.put(
        f"{API}/kettle-vs-moka-pot", json=document, headers={**auth, "If-Match": stale}
    )
    assert current.status_code == 200
    document["title"] = "Lost update"
    response = client.put(
        f"{API}/kettle-vs-moka-pot", json=document, headers={**auth, "If-Match": stale}
    )
    assert response.status_code == 412
    assert (
        client.get(f"{API}/kettle-vs-moka-pot", headers=auth).json["title"]
        == "Kettle vs Moka, round two"
    )


def test_if_match_with_the_current_etag_replaces(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    create(client, auth, document)
    etag = client.get(f"{API}/kettle-vs-moka-pot", headers=auth).headers["ETag"]
    document["title"] = "Updated"
    response = client.put(
        f"{API}/kettle-vs-moka-pot", json=document, headers={**auth, "If-Match": etag}
    )
    assert response.status_code == 200


def test_if_none_match_star_only_creates(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    headers = {**auth, "If-None-Match": "*"}
    assert (
        client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=headers).status_code == 201
    )
    assert (
        client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=headers).status_code == 412
    )


def test_another_publishers_comparison_does_not_exist_for_you(
    app: Flask, client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    create(client, auth, document)
    rival = {"Authorization": "Bearer " + new_publisher(app, "rival")}
    slug = f"{API}/kettle-vs-moka-pot"
    unknown = client.get(f"{API}/no-such-slug", headers=rival)
    for response in (
        client.get(slug, headers=rival),
        client.get(f"{slug}/embed", headers=rival),
        client.delete(slug, headers=rival),
    ):
        assert response.status_code == 404
        assert (
            response.json["error"]["message"].replace("kettle-vs-moka-pot", "no-such-slug")
            == (unknown.json["error"]["message"])
        )
    assert client.get(API, headers=rival).json == []
    assert client.get(slug, headers=auth).status_code == 200


def test_two_publishers_may_use_the_same_slug(
    app: Flask, client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    rival = {"Authorization": "Bearer " + new_publisher(app, "rival")}
    assert create(client, auth, document).status_code == 201
    assert create(client, rival, document).status_code == 201
    mine = client.get(f"{API}/kettle-vs-moka-pot/embed", headers=auth).json
    theirs = client.get(f"{API}/kettle-vs-moka-pot/embed", headers=rival).json
    assert mine["token"] != theirs["token"]
    assert theirs["url"].endswith("/c/rival/kettle-vs-moka-pot")


def test_the_list_is_paginated_by_slug(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    for n in range(5):
        create(client, auth, {**document, "slug": f"comparison-{n}"})
    page = client.get(f"{API}?page=2&page_size=2", headers=auth)
    assert [entry["slug"] for entry in page.json] == ["comparison-2", "comparison-3"]
    pagination = json.loads(page.headers["X-Pagination"])
    assert pagination["total"] == 5 and pagination["last_page"] == 3
    assert set(page.json[0]) == {"slug", "title", "votes", "created_at", "updated_at", "url"}


def test_a_page_size_over_100_is_refused(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get(f"{API}?page_size=1000", headers=auth)
    assert response.status_code == 422
    assert "page_size" in response.json["error"]["fields"]


def test_delete_removes_the_comparison(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    create(client, auth, document)
    assert client.delete(f"{API}/kettle-vs-moka-pot", headers=auth).status_code == 204
    assert client.get(f"{API}/kettle-vs-moka-pot", headers=auth).status_code == 404
    assert create(client, auth, document).status_code == 201


def test_delete_with_a_stale_etag_answers_412(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    create(client, auth, document)
    response = client.delete(f"{API}/kettle-vs-moka-pot", headers={**auth, "If-Match": '"stale"'})
    assert response.status_code == 412
    assert client.get(f"{API}/kettle-vs-moka-pot", headers=auth).status_code == 200


def test_embed_details_give_the_snippet(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    create(client, auth, document)
    embed = client.get(f"{API}/kettle-vs-moka-pot/embed", headers=auth).json
    assert set(embed) == {"slug", "token", "snippet", "iframe_url", "url", "height"}
    assert f'data-vswidget="{embed["token"]}"' in embed["snippet"]
    # The reserved height steps down with the column's width (a padding's percentage).
    assert 'style="height:0;padding-bottom:calc(' in embed["snippet"]
    assert "clamp(0px,(462px - 100%)*1000," in embed["snippet"]
    assert f'<script async src="{PUBLIC_URL}/widget.js" onerror="' in embed["snippet"]
    assert embed["iframe_url"] == f"{PUBLIC_URL}/embed/acme/kettle-vs-moka-pot"


def test_the_snippet_escapes_publisher_text(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    document["title"] = '</a><script>alert("x")</script>'
    snippet = create(client, auth, document).json["embed"]["snippet"]
    assert "<script>alert" not in snippet
    assert "&lt;/a&gt;&lt;script&gt;" in snippet


def test_the_embed_token_stays_the_same_across_updates(
    client: FlaskClient, auth: dict[str, str], document: dict[str, Any]
) -> None:
    token = create(client, auth, document).json["embed"]["token"]
    document["title"] = "Updated"
    assert (
        client.put(f"{API}/kettle-vs-moka-pot", json=document, headers=auth).json["embed"]["token"]
        == token
    )
