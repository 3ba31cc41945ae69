"""event flushes counted by one call on PostgreSQL: vsw_count_events()

A flush of event batches counted them against the day's budgets in a dozen statements,
each a round trip of psycopg's Python in a worker that shares its interpreter with the
requests. On PostgreSQL the counting is now one function call (event_budgets.py).
SQLite keeps counting in Python.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# flush: one object per batch, in order: {"day", "address", "page", "offers": [[comparison,
# events, refused or null], ...]}. Returns {"fits": [[admitted events of each offer], ...],
# "days": [[comparison, day, added], ...], "listed": [[comparison, day, page], ...]}: what
# each comparison's day budget admits of each offer, what was added to each day's stored
# count, and which pages of the offers let through each day lists already.
#
# It does what event_budgets.store_batches does in Python on SQLite, with the same
# arithmetic: each batch as if it came alone, in order; an address's room goes to a
# batch's offers by comparison id; a day's room to its offers in the batches' order.
# Rows are locked in one order (addresses, then days, each sorted), as in Python. The
# pages are read by a statement of their own, after the days' rows are locked, so its
# snapshot holds the pages listed by the transactions it waited for. The counts commit
# without waiting for the disk: the events' durable COMMIT that follows puts them there.
COUNT_EVENTS = """
CREATE FUNCTION vsw_count_events(flush json, per_address bigint, per_comparison bigint)
RETURNS json
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    counted json;
    listed json;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    WITH offer AS (
        SELECT (b.n - 1)::int AS batch, (o.n - 1)::int AS place,
               (b.v->>'day')::date AS day, b.v->>'address' AS address, b.v->>'page' AS page,
               (o.v->>0)::int AS comparison, (o.v->>1)::bigint AS events, o.v->>2 AS refused
        FROM json_array_elements(flush) WITH ORDINALITY AS b(v, n)
        CROSS JOIN LATERAL json_array_elements(b.v->'offers') WITH ORDINALITY AS o(v, n)
    ),
    batch AS (
        SELECT batch, day, address,
               coalesce(sum(events) FILTER (WHERE refused IS NULL), 0) AS offered
        FROM offer GROUP BY batch, day, address
    ),
    sent AS (
        INSERT INTO address_days AS a (day, address, sent)
        SELECT day, address, sum(offered) FROM batch WHERE offered > 0
        GROUP BY day, address ORDER BY day, address
        ON CONFLICT (day, address) DO UPDATE SET sent = a.sent + excluded.sent
        RETURNING day, address, sent
    ),
    room AS (
        SELECT b.batch, greatest(0, least(b.offered, per_address - (
            s.sent - sum(b.offered) OVER (PARTITION BY b.day, b.address)
            + sum(b.offered) OVER (PARTITION BY b.day, b.address ORDER BY b.batch) - b.offered
        ))) AS room
        FROM batch b JOIN sent s USING (day, address)
    ),
    kept AS (
        SELECT o.*, CASE WHEN o.refused IS NULL THEN least(o.events, greatest(0,
            coalesce(r.room, 0) - (sum(o.events) FILTER (WHERE o.refused IS NULL)
                OVER (PARTITION BY o.batch ORDER BY o.comparison, o.place) - o.events)
        )) ELSE 0 END AS kept
        FROM offer o LEFT JOIN room r USING (batch)
    ),
    day_total AS (
        SELECT comparison, day, sum(kept) AS added,
               coalesce(sum(events - kept) FILTER (
                   WHERE refused IS DISTINCT FROM 'other_host'), 0) AS over_budget,
               coalesce(sum(events - kept) FILTER (WHERE refused = 'other_host'), 0) AS other_host
        FROM kept GROUP BY comparison, day
    ),
    day_counted AS (
        INSERT INTO event_days AS d (comparison_id, day, stored, pages, over_budget, other_host)
        SELECT comparison, day, added, 0, over_budget, other_host FROM day_total
        ORDER BY comparison, day
        ON CONFLICT (comparison_id, day) DO UPDATE SET
            stored = d.stored + excluded.stored,
            over_budget = d.over_budget + excluded.over_budget,
            other_host = d.other_host + excluded.other_host
        RETURNING comparison_id AS comparison, day, stored
    ),
    fit AS (
        SELECT k.batch, k.place, k.comparison, k.day, k.page, k.kept,
               least(k.kept, greatest(0, per_comparison - (c.stored - t.added)
                   - (sum(k.kept) OVER (
                       PARTITION BY k.comparison, k.day ORDER BY k.batch, k.place) - k.kept)
               )) AS fits
        FROM kept k
        JOIN day_counted c USING (comparison, day)
        JOIN day_total t USING (comparison, day)
    )
    SELECT json_build_object(
        'offers', (SELECT json_agg(
            json_build_array(batch, place, comparison, day, page, kept, fits) ORDER BY batch, place
        ) FROM fit),
        'days', (SELECT json_agg(json_build_array(comparison, day, added)) FROM day_total)
    ) INTO counted;
    SELECT coalesce(json_agg(json_build_array(p.comparison_id, p.day, p.page)), '[]')
    INTO listed
    FROM event_pages p
    WHERE (p.comparison_id, p.day, p.page) IN (
        SELECT (o->>2)::int, (o->>3)::date, o->>4
        FROM json_array_elements(counted->'offers') AS o WHERE (o->>5)::bigint > 0
    );
    RETURN json_build_object(
        'fits', (SELECT json_agg(f ORDER BY b) FROM (
            SELECT (o->>0)::int AS b, json_agg((o->>6)::bigint ORDER BY (o->>1)::int) AS f
            FROM json_array_elements(counted->'offers') AS o GROUP BY 1
        ) AS per_batch),
        'days', counted->'days',
        'listed', listed
    );
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(COUNT_EVENTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION vsw_count_events(json, bigint, bigint)")
