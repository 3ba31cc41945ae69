"""Events rolled up by day, and the figures the dashboard and the stats API read.

Readers of figures over days only touch the rollups, never raw events, so they stay
fast as events grow; only the last minutes (``trends.windows_of``) read the newest
raw events. One module a job:

- ``counts.py``: what is counted (``Totals``) and how figures add up;
- ``targets.py``: the rollup tables, each declared once: its key, what it counts;
- ``increments.py``: the events since the last step added to the rollups;
- ``prepared.py``: many rows a statement, their parameters made before the transaction;
- ``rollups.py``: rollups recomputed from raw events (rebuild, repair), raw events pruned;
- ``periods.py``: the weeks and four weeks of ``period_pages``;
- ``figures.py``: a comparison's figures per day, per comparison and per item;
- ``host_pages.py``: the host pages that embed a comparison, and "other pages";
- ``segments.py``: the top sources, devices and browsers, per comparison or host page;
- ``report.py``: the stats API's report, all of those in one answer;
- ``trends.py``: the previous period, and the last minutes read from raw events.
"""

from .counts import COLUMNS, COUNTED, Totals, summed
from .figures import dropped, item_series, series, series_of
from .host_pages import Page, origins, other_pages, pages
from .increments import roll_up_recent
from .periods import period_start
from .report import report
from .rollups import prune, roll_up, roll_up_all
from .segments import Scope, Segment, segment_lists, segments, views_by_value
from .trends import Window, previous_range, window_report, windows_of

__all__ = [
    "COLUMNS",
    "COUNTED",
    "Page",
    "Scope",
    "Segment",
    "Totals",
    "Window",
    "dropped",
    "item_series",
    "origins",
    "other_pages",
    "pages",
    "period_start",
    "previous_range",
    "prune",
    "report",
    "roll_up",
    "roll_up_all",
    "roll_up_recent",
    "segment_lists",
    "segments",
    "views_by_value",
    "series",
    "series_of",
    "summed",
    "window_report",
    "windows_of",
]
