// Floyo for ComfyUI, frontend: the runs tab's header line of totals: today's and the last 7 days'
// runs, FloTime and partner-API cost, as GET /floyo/runs sends them (`totals`, counted by the
// journal). Only builds elements: no requests, no state, no listeners.
import { dollars, el, floTime } from "./api.js";

const usd = (v) => (v != null ? `${dollars(v)} partner API` : null);

function period(label, t) {
  if (!t) return null;
  const parts = [`${t.runs} run${t.runs === 1 ? "" : "s"}`, floTime(t.flotime_ms), usd(t.partner_cost_usd)];
  return el("div", { className: "floyo-runs-total", textContent: `${label}: ${parts.filter(Boolean).join(" · ")}` });
}

export function totalsHeader(totals) {
  return el("div", { className: "floyo-runs-totals" },
    period("Today", totals?.today), period("Last 7 days", totals?.last_7_days));
}
