"""The runs tab's reads of the journal: one page of runs, newest first, filtered by state and
searched by name or run id, without reading the kept workflows (journal.py runs the SQL).

Builds SQL and parameters only: no connection, no writes. Every value a user typed is a bound
parameter; LIKE wildcards in a search are escaped, so ``run_`` finds run ids, not every row.
A page is cut by ``created_at`` (indexed since schema 8, with the state, and with the name, run id
and marker a search reads: journal_store.py), so page one costs the same over a hundred runs or a
hundred thousand (bench/p8_journal_scale.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from .journal_states import JournalState

MAX_PAGE = 200
# every column of a run, and whether its workflow is kept (the kept workflows themselves stay on disk)
CARD_COLUMNS = "*, EXISTS (SELECT 1 FROM kept_workflows k WHERE k.marker = runs.marker) AS kept"


@dataclass(frozen=True)
class PageQuery:
    offset: int = 0
    limit: int = 50
    state: str | None = None  # a JournalState word; None: every state
    search: str | None = None  # part of the run's name or id, any case

    @classmethod
    def parse(cls, offset: object = 0, limit: object = 50, state: object = None,
              search: object = None) -> PageQuery:
        """From a route's query string; ValueError names the parameter that is wrong."""
        try:
            start, size = int(str(offset or 0)), int(str(limit or 50))
        except ValueError:
            raise ValueError("offset and limit must be whole numbers") from None
        if start < 0 or not 1 <= size <= MAX_PAGE:
            raise ValueError(f"offset must be 0 or more and limit between 1 and {MAX_PAGE}")
        word = str(state) if state else None
        if word is not None and JournalState.parse(word) is None:
            known = ", ".join(s.value for s in JournalState)
            raise ValueError(f"state must be one of: {known}")
        text = str(search).strip()[:200] if search else None
        return cls(start, size, word, text or None)


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def page_sql(query: PageQuery) -> tuple[str, list[object]]:
    """SELECT of one page plus one row (whether there is a next page), newest first."""
    where, params = [], []
    if query.state:
        where.append("state = ?")
        params.append(query.state)
    if query.search:
        where.append("(name LIKE ? ESCAPE '\\' OR run_id LIKE ? ESCAPE '\\' OR marker LIKE ? ESCAPE '\\')")
        params += [_like(query.search)] * 3
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    sql = (f"SELECT {CARD_COLUMNS} FROM runs {clause}"  # noqa: S608 (constants and placeholders)
           "ORDER BY created_at DESC LIMIT ? OFFSET ?")
    return sql, [*params, query.limit + 1, query.offset]


def states() -> list[str]:
    """The state words a page may be filtered by, in lifecycle order (the tab's filter offers them)."""
    return [s.value for s in JournalState]
