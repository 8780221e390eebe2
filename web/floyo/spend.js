// Floyo for ComfyUI, frontend: the spend guard. The team's balance (GET /floyo/balance: hidden when
// the key may not read it or Floyo has no such route) in the settings panel and the runs tab
// header, read when either opens and after each run; today's spend against each budget (from
// GET /floyo/runs: `totals`, `budgets`); the budget settings; and each Floyo node's estimate
// before its run (POST /floyo/estimate with what Queue would send: nothing goes to Floyo).
// Every figure comes from the server (the estimate worded there too); this file formats the rest.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import { addStyle, call, dollars, el } from "./api.js";
import { RUN_NODES, showEstimate } from "./node_status.js";

addStyle(".floyo-balance,.floyo-spend{font-size:12px;opacity:.85;margin:2px 0}");

const secs = (ms) => `${Math.round(ms / 1000)} s`;
let estimateTimer = null;

function balanceText(b) {
  const parts = [b.available_flotime_ms != null && `${secs(b.available_flotime_ms)} FloTime`,
    b.partner_nodes_usd != null && `${dollars(b.partner_nodes_usd)} partner credit`];
  return `Balance: ${parts.filter(Boolean).join(" · ")}`;
}

// balance lines read again (a hidden one stays hidden: not readable is no error to show)
async function fillBalance(lines) {
  if (!lines.length) return;
  const b = await call("GET", "/floyo/balance").catch(() => ({ available: false }));
  for (const line of lines) {
    line.hidden = !b.available;
    line.textContent = b.available ? balanceText(b) : "";
  }
}

export const refreshBalance = () => fillBalance([...document.querySelectorAll(".floyo-balance")]);

function balanceLine() {
  const line = el("div", { className: "floyo-balance", hidden: true });
  fillBalance([line]); // read as the panel or the tab opens
  return line;
}

// The runs tab header's hook (runs_tab.js): the balance, and today's spend against each budget.
export function spendHeader(head, data) {
  let line = head.parentElement?.querySelector(".floyo-spend");
  if (!line) {
    head.after(balanceLine(), (line = el("div", { className: "floyo-spend" })));
  }
  const today = data?.totals?.today ?? {}, budgets = data?.budgets ?? {};
  const flo = budgets.FLOYO_BUDGET_DAY_FLOTIME_S, usd = budgets.FLOYO_BUDGET_DAY_USD;
  const parts = [`Today: ${secs(today.flotime_ms ?? 0)}${flo ? ` of ${flo} s` : ""} FloTime`,
    (usd || today.partner_cost_usd) && `${dollars(today.partner_cost_usd)}${usd ? ` of $${usd}` : ""} partner API`];
  line.textContent = parts.filter(Boolean).join(" · ") + (flo || usd ? " (daily budget)" : "");
}

// Each Floyo node's estimate, from what Queue would send now; shown on the node until it runs.
async function refreshEstimates() {
  const { output, workflow } = await app.graphToPrompt();
  if (!Object.values(output).some((n) => RUN_NODES.has(n.class_type))) return; // no Floyo node: no request
  const { nodes } = await call("POST", "/floyo/estimate", { prompt: output, extra_data: { extra_pnginfo: { workflow } } });
  for (const [id, plan] of Object.entries(nodes)) showEstimate(id, plan.text);
}

function estimateSoon() {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(() => refreshEstimates().catch((e) => console.warn(`Floyo: no estimate: ${e.message}`)), 500);
}

export function listenSpend() {
  api.addEventListener("floyo.run", ({ detail }) => { if (detail?.ended) { refreshBalance(); estimateSoon(); } });
  api.addEventListener("graphChanged", estimateSoon);
}

export const afterGraphLoaded = estimateSoon;

const budget = (id, name, tooltip, defaultValue = 0) => ({ id, category: ["Floyo", "Budgets", name], name,
  type: "number", defaultValue, tooltip, attrs: { min: 0, step: 1 } });

export const SPEND_SETTINGS = [
  { id: "Floyo.Balance.Show", category: ["Floyo", "Balance", "Team balance"], name: "Team balance", defaultValue: "",
    tooltip: "The FloTime and partner credit your team has left on Floyo (hidden when the key may not read it).",
    type: () => balanceLine() }, // a custom row: shows the balance, stores nothing
  budget("Floyo.Budget.PromptFloTimeS", "FloTime budget per prompt (s)",
    "A prompt whose estimated FloTime is over this is refused when queued; 0: off. FLOYO_BUDGET_PROMPT_FLOTIME_S wins."),
  budget("Floyo.Budget.DayFloTimeS", "FloTime budget per day (s)",
    "Today's FloTime plus a prompt's estimate over this: refused when queued; 0: off. FLOYO_BUDGET_DAY_FLOTIME_S wins."),
  budget("Floyo.Budget.PromptUSD", "Partner API budget per prompt ($)",
    "A prompt whose estimated partner-API cost is over this is refused; 0: off. FLOYO_BUDGET_PROMPT_USD wins."),
  budget("Floyo.Budget.DayUSD", "Partner API budget per day ($)",
    "Today's partner-API cost plus the estimate over this: refused; 0: off. FLOYO_BUDGET_DAY_USD wins."),
  budget("Floyo.MaxFanout", "Most runs per prompt",
    "A prompt that would create more Floyo runs (lists included) is refused when queued. FLOYO_MAX_FANOUT wins.", 20),
];
