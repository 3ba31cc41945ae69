"""The database's tables, as SQLAlchemy Core ``Table`` objects of one ``MetaData``.

No business rules live here; see the store package. Python-side defaults (``utcnow``,
``new_public_id``, 0) apply to Core INSERTs that leave their column out.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect, Row

metadata = MetaData()
AnyRow = Row[*tuple[Any, ...]]  # a row of any select: its columns by name


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    """Return a random id to name a row in public (tokens, webhook bodies): 128 bits that,
    unlike the sequential ids, tell nothing of how many rows there are."""
    return secrets.token_urlsafe(16)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC).replace(tzinfo=None) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def required(name: str, kind: Any, *extra: Any, **options: Any) -> Column[Any]:
    """A column that may not be NULL."""
    return Column(name, kind, *extra, nullable=False, **options)


def optional(name: str, kind: Any, *extra: Any, **options: Any) -> Column[Any]:
    """A column that may be NULL."""
    return Column(name, kind, *extra, nullable=True, **options)


def id_column() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def comparison_id(*, primary_key: bool = False, index: bool = False) -> Column[int]:
    """The comparison a row belongs to: it goes when the comparison does."""
    target = ForeignKey("comparisons.id", ondelete="CASCADE")
    return Column(
        "comparison_id", Integer, target, nullable=False, primary_key=primary_key, index=index
    )


def publisher_id(*, index: bool = False) -> Column[int]:
    """The publisher a row belongs to: it goes when the publisher does."""
    target = ForeignKey("publishers.id", ondelete="CASCADE")
    return Column("publisher_id", Integer, target, nullable=False, index=index)


def created_at() -> Column[datetime]:
    return required("created_at", UTCDateTime, default=utcnow)


def counter(name: str, kind: Any = Integer) -> Column[int]:
    return required(name, kind, default=0)


def day_counters() -> list[Column[int]]:
    """What the rollups count of a day or a period."""
    names = ("impressions", "views", "votes", "clicks", "signups", "visitors")
    return [counter(name) for name in names]


publishers = Table(
    "publishers",
    metadata,
    id_column(),
    required("handle", String(40), unique=True),
    created_at(),
    optional("webhook_url", String(2000)),
    optional("webhook_secret", String(64)),
    # failed deliveries in a row, and until when the publisher's deliveries wait
    required("webhook_failures", Integer, server_default="0"),
    optional("webhook_paused_until", UTCDateTime),
    optional("password_hash", String(255)),
)

# An API key: only its SHA-256 hash is kept, and a prefix to tell keys apart.
api_keys = Table(
    "api_keys",
    metadata,
    id_column(),
    publisher_id(),
    required("prefix", String(16), index=True),
    required("key_hash", String(64), unique=True),
    created_at(),
    optional("revoked_at", UTCDateTime),
)

# A published comparison: its normalized document as canonical JSON.
comparisons = Table(
    "comparisons",
    metadata,
    id_column(),
    # What tokens name it by; tokens signed before 0009 name ``id``, and still verify.
    required("public_id", String(22), default=new_public_id),
    publisher_id(),
    required("slug", String(80)),
    required("document", Text),
    required("version", Integer, default=1),
    created_at(),
    required("updated_at", UTCDateTime, default=utcnow),
    UniqueConstraint("publisher_id", "slug"),
    Index("ix_comparisons_public_id", "public_id", unique=True),
    sqlite_autoincrement=True,  # ids are never reused, so old embed tokens stay dead
)

# One reader's current vote in one comparison.
votes = Table(
    "votes",
    metadata,
    id_column(),
    comparison_id(),
    required("item_key", String(40)),
    required("voter", String(64)),
    created_at(),
    required("updated_at", UTCDateTime, default=utcnow),
    UniqueConstraint("comparison_id", "voter"),
    Index("ix_votes_comparison_item", "comparison_id", "item_key"),
)

# The running count of votes per item: kept in the voting transaction, read by payloads.
vote_tallies = Table(
    "vote_tallies",
    metadata,
    comparison_id(primary_key=True),
    Column("item_key", String(40), primary_key=True),
    counter("count"),
)

# The secret salt of one day's visitor hashes; deleted when the day is over.
salts = Table(
    "salts",
    metadata,
    Column("day", Date, primary_key=True),
    required("value", String(64)),
)

# A newsletter sign-up: one per address per publisher, with the reader's consent.
# One address is one whatever its letter case: the database holds that itself, so
# two sign-ups of A@x.com and a@x.com at once store one.
signups = Table(
    "signups",
    metadata,
    id_column(),
    publisher_id(),
    optional(
        "comparison_id", Integer, ForeignKey("comparisons.id", ondelete="SET NULL"), index=True
    ),
    required("email", String(320)),
    required("consent", Boolean, default=True),
    created_at(),
)
Index(
    "uq_signups_publisher_email",
    signups.c.publisher_id,
    func.lower(signups.c.email),
    unique=True,
)

# A webhook delivery waiting to succeed: retried with backoff, across restarts,
# and deleted once delivered.
outbox = Table(
    "outbox",
    metadata,
    id_column(),
    # The delivery's id for its receiver: the body's "id" and X-VSWidget-Delivery.
    required("public_id", String(22), default=new_public_id),
    publisher_id(),
    required("event", String(40)),
    required("body", Text),
    counter("attempts"),
    required("next_attempt_at", UTCDateTime, default=utcnow),
    optional("claimed_until", UTCDateTime),
    optional("last_error", String(500)),
    created_at(),
    Index("ix_outbox_due", "next_attempt_at"),
    Index("ix_outbox_public_id", "public_id", unique=True),
)

# A named job one process at a time may run, until ``until``.
leases = Table(
    "leases",
    metadata,
    Column("name", String(40), primary_key=True),
    required("until", UTCDateTime),
)

# A dashboard login: the cookie holds a random id, this row its hash; logging out
# deletes the row, so a copy of the cookie opens nothing afterwards.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    publisher_id(index=True),
    created_at(),
    required("expires_at", UTCDateTime, index=True),
)

# Failed dashboard logins of one address in one window of a limit (e.g. one minute).
login_failures = Table(
    "login_failures",
    metadata,
    Column("address", String(64), primary_key=True),
    Column("seconds", Integer, primary_key=True),  # the window's length
    Column("ends", BigInteger, primary_key=True, index=True),  # epoch seconds
    required("count", Integer),
)

# One raw analytics event from a widget; rolled up by day, pruned after retention.
events = Table(
    "events",
    metadata,
    # 64 bits: at a billion events a month, 32-bit ids would run out in about 64 days.
    # SQLite's INTEGER PRIMARY KEY is 64 bits already (and only it is the rowid).
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    comparison_id(),
    required("type", String(16)),
    optional("item_key", String(40)),
    required("origin", String(255)),
    required("path", String(1000)),
    optional("referrer", String(255)),  # the referring page's domain, nothing more
    # Classes of the sender's user agent (user_agents.py), never the user agent itself;
    # NULL for events stored before they were kept.
    optional("device", String(8)),
    optional("browser", String(16)),
    required("day", Date),
    required("visitor", String(32)),
    created_at(),
    Index("ix_events_comparison_day", "comparison_id", "day"),
    Index("ix_events_day", "day"),  # rollups and pruning go day by day
    # The last minutes of a comparison (analytics/trends.py), without its whole day.
    Index("ix_events_comparison_created", "comparison_id", "created_at"),
)

# One comparison's counts on one day, all host pages together.
daily_totals = Table(
    "daily_totals",
    metadata,
    comparison_id(primary_key=True),
    Column("day", Date, primary_key=True),
    *day_counters(),
)

# One comparison's counts on one host page on one day.
daily_pages = Table(
    "daily_pages",
    metadata,
    id_column(),
    comparison_id(),
    required("day", Date),
    required("origin", String(255)),
    required("path", String(1000)),
    *day_counters(),
    # A rollup step adds to a page's row of a day (ON CONFLICT on this key).
    Index("ux_daily_pages_key", "comparison_id", "day", "origin", "path", unique=True),
    # roll_up replaces a day's rows and sums a week's: by day, however long the history.
    Index("ix_daily_pages_day", "day"),
    # Covers analytics: a comparison's rows of some days, read from the index alone.
    Index(
        "ix_daily_pages_comparison_day_cover",
        "comparison_id",
        "day",
        "origin",
        "path",
        "impressions",
        "views",
        "votes",
        "clicks",
        "signups",
        "visitors",
    ),
)

# One comparison's counts on one host page over a week or four: its daily rows summed.
# A period is ``days`` long (7 or 28) and starts on ``start``, a Monday; periods are
# counted from 0001-01-01, a Monday, so a 7-day one is an ISO week and a 28-day one
# holds four whole weeks. ``first_day`` and ``last_day`` are the first and last days
# of the period with events on the page.
period_pages = Table(
    "period_pages",
    metadata,
    id_column(),
    comparison_id(),
    required("days", Integer),
    required("start", Date),
    required("origin", String(255)),
    required("path", String(1000)),
    required("first_day", Date),
    required("last_day", Date),
    *day_counters(),
    # A rollup replaces one period of every comparison; a reader takes a few of one.
    Index("ix_period_pages_period", "days", "start", "comparison_id"),
    # A rollup step adds to a page's row of a period (ON CONFLICT on this key).
    Index("ux_period_pages_key", "comparison_id", "days", "start", "origin", "path", unique=True),
)

# The last event id the rollups have counted (one row): every event up to it is in the
# rollup tables, none after it (analytics/increments.py).
rollup_cursor = Table(
    "rollup_cursor",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    required("event_id", BigInteger),
)

# The readers already counted among a day's distinct visitors of one host page of a
# comparison (``scope`` the page's hash, analytics.targets.visitor_scope), so a step counts
# each once; a reader with no row for a comparison and day is new to it too. Keyed by
# visitor first: a step looks up the visitors of its events. Kept for today and
# yesterday only.
counted_visitors = Table(
    "counted_visitors",
    metadata,
    Column("visitor", String(32), primary_key=True),
    comparison_id(primary_key=True),
    Column("day", Date, primary_key=True),
    Column("scope", String(32), primary_key=True),
    Index("ix_counted_visitors_day", "day"),
)

# One comparison's counts on one host page on one day from one segment of its readers:
# ``kind`` is "source" (``value`` the referrer's domain, "" for none), "device" (phone,
# tablet, desktop, other) or "browser" (its family). No visitors: a segment's are not
# distinct across pages.
daily_segments = Table(
    "daily_segments",
    metadata,
    id_column(),
    comparison_id(),
    required("day", Date),
    required("origin", String(255)),
    required("path", String(1000)),
    required("kind", String(8)),
    required("value", String(255)),
    *day_counters()[:-1],
    Index(
        "ux_daily_segments_key",
        "comparison_id",
        "day",
        "kind",
        "origin",
        "path",
        "value",
        unique=True,
    ),
    Index("ix_daily_segments_day", "day"),
)

# Votes cast for and clicks on one item on one day.
daily_items = Table(
    "daily_items",
    metadata,
    comparison_id(primary_key=True),
    Column("day", Date, primary_key=True),
    Column("item_key", String(40), primary_key=True),
    counter("votes"),
    counter("clicks"),
)

# What one comparison took in on one day: the events stored, the host pages they were
# stored under, and the events dropped, by reason (see event_budgets.py). Kept for good,
# like the rollups: the stats say how much was dropped.
event_days = Table(
    "event_days",
    metadata,
    comparison_id(primary_key=True),
    Column("day", Date, primary_key=True),
    counter("stored"),
    counter("pages"),
    # 64 bits: a flood from many addresses drops billions of events a day.
    counter("over_budget", BigInteger),
    counter("other_host", BigInteger),
)

# A host page one comparison's events were stored under on one day, by a hash of its
# origin and path; pruned once the day is over.
event_pages = Table(
    "event_pages",
    metadata,
    comparison_id(primary_key=True),
    Column("day", Date, primary_key=True),
    Column("page", String(32), primary_key=True),
)

# The events one address sent on one day, by a hash salted with the day's visitor salt
# (no address is stored); pruned once the day is over.
address_days = Table(
    "address_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("address", String(32), primary_key=True),
    counter("sent", BigInteger),
)
