"""What the journal knows about spending: earlier runs of a graph's shape, for the estimate.

Reads only, on its own short read-only connection to the journal's file (journal.py is the
one writer). A journal that cannot be read gives no history, never an error: the estimate then
says it has none. Must not write the file nor invent a figure.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from .spend import HISTORY_RUNS, Estimate

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 1.0  # the prompt hook waits on this: never long


def history_estimate(path: Path, shape: str, api_url: str, team: str) -> Estimate | None:
    """The median of the newest earlier runs of ``shape`` on this Floyo for this team that
    report FloTime; wall time from the ones saved here (created to saved)."""
    sql = ("SELECT flotime_ms, partner_cost_usd, state, updated_at - created_at FROM runs"
           " WHERE shape_hash = ? AND api_url = ? AND team = ? AND flotime_ms IS NOT NULL"
           " AND state IN ('succeeded', 'saved') ORDER BY created_at DESC LIMIT ?")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=READ_TIMEOUT_S)
        try:
            rows = db.execute(sql, (shape, api_url, team, HISTORY_RUNS)).fetchall()
        finally:
            db.close()
    except sqlite3.Error as e:
        log.info("Floyo: no run history for the estimate (%s)", e)
        return None
    return Estimate.of([r[0] for r in rows], [r[3] for r in rows if r[2] == "saved"],
                       [r[1] for r in rows if r[1] is not None])
