"""SQLAlchemy tables. No business rules live here; see store.py."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


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


class Base(DeclarativeBase):
    pass


class Publisher(Base):
    __tablename__ = "publishers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(64))
    # failed deliveries in a row, and until when the publisher's deliveries wait
    webhook_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    webhook_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_hash: Mapped[str | None] = mapped_column(String(255))

    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="publisher", cascade="all, delete-orphan", order_by="ApiKey.id"
    )


class ApiKey(Base):
    """An API key: only its SHA-256 hash is kept, and a prefix to tell keys apart."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("publishers.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    publisher: Mapped[Publisher] = relationship(back_populates="api_keys")


class Comparison(Base):
    """A published comparison: its normalized document as canonical JSON."""

    __tablename__ = "comparisons"
    __table_args__ = (
        UniqueConstraint("publisher_id", "slug"),
        Index("ix_comparisons_public_id", "public_id", unique=True),
        {"sqlite_autoincrement": True},  # ids are never reused, so old embed tokens stay dead
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What tokens name it by; tokens signed before 0009 name ``id``, and still verify.
    public_id: Mapped[str] = mapped_column(String(22), default=new_public_id)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("publishers.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    document: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    publisher: Mapped[Publisher] = relationship()


class Vote(Base):
    """One reader's current vote in one comparison."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("comparison_id", "voter"),
        Index("ix_votes_comparison_item", "comparison_id", "item_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(40))
    voter: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VoteTally(Base):
    """The running count of votes per item: kept in the voting transaction, read by payloads."""

    __tablename__ = "vote_tallies"

    comparison_id: Mapped[int] = mapped_column(
        ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True
    )
    item_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Salt(Base):
    """The secret salt of one day's visitor hashes; deleted when the day is over."""

    __tablename__ = "salts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(String(64))


class Signup(Base):
    """A newsletter sign-up: one per address per publisher, with the reader's consent.

    One address is one whatever its letter case: the database holds that itself, so
    two sign-ups of A@x.com and a@x.com at once store one.
    """

    __tablename__ = "signups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("publishers.id", ondelete="CASCADE"))
    comparison_id: Mapped[int | None] = mapped_column(
        ForeignKey("comparisons.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    consent: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comparison: Mapped[Comparison | None] = relationship()

    __table_args__ = (
        Index("uq_signups_publisher_email", publisher_id, func.lower(email), unique=True),
    )


class Outbox(Base):
    """A webhook delivery waiting to succeed: retried with backoff, across restarts,
    and deleted once delivered."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "next_attempt_at"),
        Index("ix_outbox_public_id", "public_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The delivery's id for its receiver: the body's "id" and X-VSWidget-Delivery.
    public_id: Mapped[str] = mapped_column(String(22), default=new_public_id)
    publisher_id: Mapped[int] = mapped_column(ForeignKey("publishers.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Event(Base):
    """One raw analytics event from a widget; rolled up by day, pruned after retention."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_comparison_day", "comparison_id", "day"),
        Index("ix_events_day", "day"),  # rollups and pruning go day by day
    )

    # 64 bits: at a billion events a month, 32-bit ids would run out in about 64 days.
    # SQLite's INTEGER PRIMARY KEY is 64 bits already (and only it is the rowid).
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    item_key: Mapped[str | None] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(1000))
    referrer: Mapped[str | None] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date)
    visitor: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DailyTotal(Base):
    """One comparison's counts on one day, all host pages together."""

    __tablename__ = "daily_totals"

    comparison_id: Mapped[int] = mapped_column(
        ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    signups: Mapped[int] = mapped_column(Integer, default=0)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class DailyPage(Base):
    """One comparison's counts on one host page on one day."""

    __tablename__ = "daily_pages"
    __table_args__ = (
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

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    origin: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(1000))
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    signups: Mapped[int] = mapped_column(Integer, default=0)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class PeriodPage(Base):
    """One comparison's counts on one host page over a week or four: its daily rows summed.

    A period is ``days`` long (7 or 28) and starts on ``start``, a Monday; periods are
    counted from 0001-01-01, a Monday, so a 7-day one is an ISO week and a 28-day one
    holds four whole weeks. ``first_day`` and ``last_day`` are the first and last days
    of the period with events on the page.
    """

    __tablename__ = "period_pages"
    __table_args__ = (
        # A rollup replaces one period of every comparison; a reader takes a few of one.
        Index("ix_period_pages_period", "days", "start", "comparison_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    days: Mapped[int] = mapped_column(Integer)
    start: Mapped[date] = mapped_column(Date)
    origin: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(1000))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    impressions: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    signups: Mapped[int] = mapped_column(Integer, default=0)
    visitors: Mapped[int] = mapped_column(Integer, default=0)


class DailyItem(Base):
    """Votes cast for and clicks on one item on one day."""

    __tablename__ = "daily_items"

    comparison_id: Mapped[int] = mapped_column(
        ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    item_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)


class Lease(Base):
    """A named job one process at a time may run, until ``until``."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class DashboardSession(Base):
    """A dashboard login: the cookie holds a random id, this row its hash; logging out
    deletes the row, so a copy of the cookie opens nothing afterwards."""

    __tablename__ = "dashboard_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    publisher_id: Mapped[int] = mapped_column(
        ForeignKey("publishers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginFailures(Base):
    """Failed dashboard logins of one address in one window of a limit (e.g. one minute)."""

    __tablename__ = "login_failures"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, primary_key=True)  # the window's length
    ends: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)


class EventDay(Base):
    """What one comparison took in on one day: the events stored, the host pages they were
    stored under, and the events dropped, by reason (see event_budgets.py). Kept for good,
    like the rollups: the stats say how much was dropped."""

    __tablename__ = "event_days"

    comparison_id: Mapped[int] = mapped_column(
        ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    # 64 bits: a flood from many addresses drops billions of events a day.
    over_budget: Mapped[int] = mapped_column(BigInteger, default=0)
    other_host: Mapped[int] = mapped_column(BigInteger, default=0)


class EventPage(Base):
    """A host page one comparison's events were stored under on one day, by a hash of its
    origin and path; pruned once the day is over."""

    __tablename__ = "event_pages"

    comparison_id: Mapped[int] = mapped_column(
        ForeignKey("comparisons.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    page: Mapped[str] = mapped_column(String(32), primary_key=True)


class AddressDay(Base):
    """The events one address sent on one day, by a hash salted with the day's visitor salt
    (no address is stored); pruned once the day is over."""

    __tablename__ = "address_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    address: Mapped[str] = mapped_column(String(32), primary_key=True)
    sent: Mapped[int] = mapped_column(BigInteger, default=0)
