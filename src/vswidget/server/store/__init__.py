"""The narrow storage interface the views and the CLI call, split by what it stores.

Every write runs in one transaction: it is all stored or, on any error, nothing
is. Preconditions (If-Match) are checked inside that transaction. Reads return
Core rows, or the frozen ``Publisher`` and ``Comparison`` the views pass around.
"""

from .api_keys import issue_api_key, list_api_keys, revoke_api_key
from .comparisons import (
    Comparison,
    ComparisonKeys,
    comparison_keys,
    comparison_named,
    delete_comparison,
    document,
    etag,
    get_comparison,
    list_comparisons,
    save_comparison,
)
from .deliveries import claim_delivery, due_publishers, finish_delivery, set_webhook
from .events import add_events
from .leases import take_lease
from .passwords import publisher_for_login, set_password
from .publishers import (
    Publisher,
    create_publisher,
    get_publisher,
    hash_api_key,
    list_publishers,
    publisher_for_api_key,
)
from .signups import add_signup, delete_signups, list_signups
from .votes import cast_vote, vote_counts

__all__ = [
    "Comparison",
    "ComparisonKeys",
    "Publisher",
    "add_events",
    "add_signup",
    "cast_vote",
    "claim_delivery",
    "comparison_keys",
    "comparison_named",
    "create_publisher",
    "delete_comparison",
    "delete_signups",
    "document",
    "due_publishers",
    "etag",
    "finish_delivery",
    "get_comparison",
    "get_publisher",
    "hash_api_key",
    "issue_api_key",
    "list_api_keys",
    "list_comparisons",
    "list_publishers",
    "list_signups",
    "publisher_for_api_key",
    "publisher_for_login",
    "revoke_api_key",
    "save_comparison",
    "set_password",
    "set_webhook",
    "take_lease",
    "vote_counts",
]
