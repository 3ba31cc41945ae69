"""Vote tickets: the payload's, shared by every reader, and the iframe form's, bound to one.

A ticket names a comparison and proves a payload fetched lately; a vote or sign-up sends it
back. In WordPress's sandbox (``allow-scripts``: an opaque origin) the iframe form's requests
say ``Origin: null`` and carry no Referer, just like a hostile site's own sandboxed frame.
So for a comparison that names hosts the iframe form, which browsers show only inside those
hosts (``frame-ancestors``), carries a ticket bound to the reader who loaded it: a null
origin's vote or sign-up counts with that reader's ticket only. A site that fetches the
form itself gets a ticket bound to its own address, of no use to its visitors.
"""

from __future__ import annotations

from typing import Any

from . import signing, visitors


def _reader(reference: str | int) -> str:
    return visitors.visitor_hash(f"frame:{reference}")


def shared(public_id: str) -> str:
    """Return the ticket a payload carries, the same for every reader."""
    return signing.sign(signing.VOTE_TICKET, public_id)


def framed(public_id: str) -> str:
    """Return the iframe form's ticket, bound to the reader of this request."""
    return signing.sign(signing.VOTE_TICKET, [public_id, _reader(public_id)])


def reference(value: Any) -> Any:
    """Return what a ticket's signed value names its comparison by, in either form: its
    public id (or, in a ticket signed before 0009, its id; see store.comparison_named)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        return value[0]
    return value


def is_this_readers_frame(value: Any) -> bool:
    """Say whether a ticket's signed value is the iframe form's, given to this very reader."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str | int)
        and value[1] == _reader(value[0])
    )
