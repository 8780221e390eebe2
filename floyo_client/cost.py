"""What a run cost, as Floyo reports it, in words a user reads on the node.

FloTime (``flotime_ms``) is on every finished run; the partner-API cost is optional and its field
name unconfirmed (docs/floyo-api.md: ``partner_nodes_cost_usd``), so it is read when present and
never required. Must not guess a cost Floyo did not report.
"""

from __future__ import annotations

from typing import Any

PARTNER_FIELDS = ("partner_nodes_cost_usd", "partner_cost_usd")


def partner_cost_usd(raw: dict[str, Any] | None) -> float | None:
    """The run's partner-API cost in USD, or None when Floyo did not report one."""
    for name in PARTNER_FIELDS:
        value = (raw or {}).get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def flotime_text(flotime_ms: int | None) -> str:
    """"12.3 s FloTime", or "" when unknown."""
    return "" if flotime_ms is None else f"{flotime_ms / 1000:.1f} s FloTime"


def spent_text(flotime_ms: int | None, partner_usd: float | None) -> str:
    """The final cost line: FloTime, and the partner-API cost when Floyo reported one."""
    parts = [p for p in (flotime_text(flotime_ms),
                         None if partner_usd is None else f"${partner_usd:.2f} partner API") if p]
    return ", ".join(parts) if parts else "FloTime not reported"
