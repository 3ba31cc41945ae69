"""Every signing purpose passes one contract: round trip, rotation, forgery, salt."""

from __future__ import annotations

import time

import pytest
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from vswidget.server import signing
from vswidget.server.signing import Purpose

OLD, NEW = ["old-key"], ["old-key", "new-key"]


class SigningContract:
    """Rerun for each purpose by subclasses, as itsdangerous does."""

    purpose: Purpose
    value: object

    def test_a_token_gives_back_its_value(self) -> None:
        token = signing.sign(self.purpose, self.value, OLD)
        assert signing.unsign(self.purpose, token, OLD) == self.value

    def test_tokens_signed_with_an_old_key_verify_after_a_new_key_is_added(self) -> None:
        token = signing.sign(self.purpose, self.value, OLD)
        assert signing.unsign(self.purpose, token, NEW) == self.value

    def test_the_newest_key_signs(self) -> None:
        token = signing.sign(self.purpose, self.value, NEW)
        assert signing.unsign(self.purpose, token, ["new-key"]) == self.value
        with pytest.raises(BadSignature):
            signing.unsign(self.purpose, token, OLD)

    def test_an_edited_token_is_refused(self) -> None:
        token = signing.sign(self.purpose, self.value, OLD)
        payload, _, signature = token.rpartition(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        for edited in (payload + "." + flipped, "x" + token, token[:-1]):
            with pytest.raises(BadSignature):
                signing.unsign(self.purpose, edited, OLD)

    def test_a_token_signed_with_an_unknown_key_is_refused(self) -> None:
        forged = signing.sign(self.purpose, self.value, ["attacker-key"])
        with pytest.raises(BadSignature):
            signing.unsign(self.purpose, forged, NEW)

    def test_a_token_of_another_purpose_is_refused(self) -> None:
        other = Purpose("some.other.purpose", self.purpose.max_age)
        token = signing.sign(other, self.value, OLD)
        with pytest.raises(BadSignature):
            signing.unsign(self.purpose, token, OLD)


class TestEmbedToken(SigningContract):
    purpose = signing.EMBED_TOKEN
    value = 42

    def test_an_embed_token_is_the_same_every_time(self) -> None:
        assert signing.sign(self.purpose, 42, OLD) == signing.sign(self.purpose, 42, OLD)


class TestPayloadSignature(SigningContract):
    purpose = signing.PAYLOAD
    value = [42, 3]


class TestItemLink(SigningContract):
    purpose = signing.ITEM_LINK
    value = [42, "ollama"]


class TestVoteReceipt(SigningContract):
    purpose = signing.VOTE_RECEIPT
    value = [42, 7]


class TestVoteTicket(SigningContract):
    purpose = signing.VOTE_TICKET
    value = 42

    def test_a_ticket_older_than_its_max_age_is_refused_as_expired(self) -> None:
        class LongAgo(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - (signing.VOTE_TICKET.max_age or 0) - 3601

        old = URLSafeTimedSerializer(OLD, salt=self.purpose.salt, signer=LongAgo).dumps(42)
        with pytest.raises(SignatureExpired):
            signing.unsign(self.purpose, old, OLD)


def test_vote_tickets_signed_within_the_same_hour_are_the_same() -> None:
    assert signing.sign(signing.VOTE_TICKET, 42, OLD) == signing.sign(signing.VOTE_TICKET, 42, OLD)
