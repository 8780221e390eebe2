// Floyo for ComfyUI, frontend: the "Floyo runs" sidebar tab, the inbox of this ComfyUI's run journal
// (GET /floyo/runs, a page at a time). A header of totals (runs_header.js); a filter by state and a
// search by name or run id; each run's status, FloTime, cost, elapsed time, failure detail, run id
// (with a copy button) and saved outputs; "Load more" pages over every journaled run. Cancel
// appears on every run the server waits on (a node's, a Fetch Outputs', a resumed one) and asks
// once when it stops more than that run or a run not created here; Fetch on runs the server says
// can be fetched (`fetchable`); "Open what ran" and "Run again" on runs whose workflow was kept.
// The server sends each run's `phase`, `fetchable`, `kept`, `elapsed_s` and each output's `kind`,
// and the state words to filter by, so this file keeps no vocabulary. Never shows the API key.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import { addStyle, call, cancelWarning, confirmed, dollars, el, floTime, notify } from "./api.js";
import { REMOTE_RUN } from "./node_status.js";
import { totalsHeader } from "./runs_header.js";
import { spendHeader } from "./spend.js";

const PAGE = 30;
const LIVE_MS = 3000; // while runs are live, their cards refresh this often (resumed runs send no events)
let root = null;
let refreshTimer = null;
let shown = PAGE; // how many runs the list holds: "Load more" adds a page
let live = 0; // runs live at the last refresh
const filter = { state: "", q: "" };
const armed = new Map(); // run id -> its Cancel's confirmation state (a changed card is rebuilt)
// A card that just moved takes no click on Cancel, Fetch or Run again for this long (holdMoved).
const SETTLE_MS = 600;

addStyle(`.floyo-runs{padding:8px;font:13px/1.4 sans-serif;color:var(--fg-color,#ddd);overflow:auto;height:100%;
box-sizing:border-box}.floyo-runs-head{display:flex;justify-content:space-between;align-items:center;margin-bottom:6px}
.floyo-runs-totals{font-size:12px;opacity:.85;margin-bottom:6px}.floyo-runs-controls{display:flex;gap:4px;margin-bottom:6px}
.floyo-runs-controls input{flex:1;min-width:0}.floyo-run-detail{font-size:12px;color:#f99;white-space:pre-wrap}
.floyo-run{border:1px solid var(--border-color,#444);border-radius:6px;padding:6px 8px;margin:6px 0}
.floyo-run-top{display:flex;gap:6px;align-items:center;flex-wrap:wrap}.floyo-run-state{font-weight:600}
.floyo-run-id{font-family:monospace;font-size:12px;opacity:.85}.floyo-run-meta{opacity:.75;font-size:12px}
.floyo-run-outputs{display:flex;gap:4px;flex-wrap:wrap;margin-top:4px}.floyo-run-outputs img{width:56px;
height:56px;object-fit:cover;border-radius:3px}.floyo-run-outputs a{font-size:12px}
.floyo-runs button{font-size:12px;padding:1px 8px;cursor:pointer}
.floyo-runs-journal-warning{border:1px solid #c90;border-radius:6px;padding:6px 8px;color:#fc6}`);

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { value: text }); // without clipboard permission: the old way
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  notify("info", `Copied ${text}`, 6000);
}

// path: relative to ComfyUI's output folder, as GET /floyo/runs gives it ("floyo/run_x/a.png")
function outputLink(runId, { path, kind }) {
  const parts = path.split(/[\\/]/);
  const name = parts.pop();
  const subfolder = parts.length ? parts.join("/") : `floyo/${runId}`;
  const url = api.apiURL(`/view?${new URLSearchParams({ filename: name, subfolder, type: "output" })}`);
  const link = el("a", { href: url, target: "_blank", title: name, className: "floyo-run-output" });
  link.append(kind === "image" ? el("img", { src: url, alt: name, loading: "lazy" }) : name);
  return link;
}

function duration(s) {
  if (s == null) return null;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h ? `${h}h ${String(m).padStart(2, "0")}m` : m ? `${m}m ${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

// Cancel on a live run: says when it stops every element of a list or a run not created here, and
// then asks once (api.js, confirmed) before it sends.
function cancelButton(id, run) {
  const warning = cancelWarning(run), state = armed.get(id) ?? {};
  armed.set(id, state);
  const label = run.list_total > 1 ? `Cancel all ${run.list_total}` : run.created_here === false ? "Cancel (not started here)" : "Cancel";
  return el("button", { className: "floyo-run-cancel", textContent: label, title: warning ?? "",
    onclick: (ev) => {
      if (!confirmed(state, warning)) { ev.target.textContent = "Confirm cancel"; return; }
      call("POST", "/floyo/runs/cancel", { run_id: id })
        .then(() => { notify("info", `Cancel requested for ${id}; waiting for Floyo…`, 6000); refresh(); })
        .catch((e) => notify("error", `Cancel failed: ${e.message}`, 6000));
    } });
}

function fetchButton(id) {
  return el("button", { className: "floyo-run-fetch", textContent: "Fetch",
    onclick: (ev) => { ev.target.disabled = true; ev.target.textContent = "Fetching…";
      call("POST", `/floyo/runs/${id}/fetch`, {})
        .then((r) => notify("success", `${r.paths.length} output(s) of ${id} saved in output/floyo/${id}/`, 6000))
        .catch((e) => notify("error", `Fetch failed: ${e.message}`, 6000))
        .finally(() => { Object.assign(ev.target, { disabled: false, textContent: "Fetch" }); refresh(); }); } });
}

// What ran, in a new workflow tab: the UI workflow it came from, or (queued without one, through
// the API) a graph of one Remote Run node carrying the exact workflow sent.
async function openWhatRan(id) {
  const kept = await call("GET", `/floyo/runs/${id}/workflow`);
  const empty = { last_node_id: 0, last_link_id: 0, nodes: [], links: [], groups: [], config: {}, extra: {}, version: 0.4 };
  await app.loadGraphData(kept.ui_workflow ?? empty, true, true, `Floyo ${id}`);
  if (!kept.ui_workflow) {
    const node = window.LiteGraph.createNode(REMOTE_RUN);
    app.graph.add(node);
    const set = (name, value) => { const w = node.widgets?.find((x) => x.name === name); if (w) w.value = value; };
    set("source", "embedded");
    set("workflow", JSON.stringify(kept.workflow, null, 1));
  }
  return kept;
}

// Run again: what ran, queued again. The node that made the run gets a new run name (not part of
// what is sent, so reuse still finds the identical run), else ComfyUI would answer from its cache.
async function runAgain(id) {
  const kept = await openWhatRan(id);
  const top = String(kept.node_id ?? "").split(":")[0]; // a node inside a subgraph: its subgraph node
  const nodes = app.graph._nodes.filter((n) => n.comfyClass === REMOTE_RUN);
  const node = nodes.find((n) => String(n.id) === top) ?? nodes[0];
  const name = node?.widgets?.find((w) => w.name === "run_name");
  if (name) name.value = `${String(name.value || "run").replace(/ · again .*$/, "")} · again ${new Date().toISOString().slice(11, 23)}`;
  await app.queuePrompt(0, 1);
}

function keptButtons(id) {
  const open = () => openWhatRan(id).then(() => notify("info", `Opened what ${id} ran in a new tab.`, 6000));
  const again = () => runAgain(id)
    .then(() => notify("info", `Queued ${id}'s workflow again (reused if identical results are on).`, 6000));
  const failed = (e) => notify("error", `Could not open what ${id} ran: ${e.message}`, 8000);
  return [el("button", { className: "floyo-run-open", textContent: "Open what ran", onclick: () => open().catch(failed) }),
    el("button", { className: "floyo-run-again", textContent: "Run again", onclick: () => again().catch(failed) })];
}

function runCard(run, active) {
  const id = run.run_id;
  const state = active ? (active.cancel_requested ? "cancelling…" : active.status) : run.state;
  const flo = run.flotime_ms != null ? floTime(run.flotime_ms) : null;
  const cost = run.partner_cost_usd != null ? dollars(run.partner_cost_usd) : null;
  const when = run.created_at ? new Date(run.created_at * 1000).toLocaleString() : null;
  const took = duration(active ? active.elapsed_s : run.elapsed_s);
  const buttons = [];
  if (id) buttons.push(el("button", { className: "floyo-run-copy", textContent: "Copy id", onclick: () => copy(id) }));
  if (active && id) buttons.push(cancelButton(id, active));
  if (!active && id && run.fetchable) buttons.push(fetchButton(id));
  if (id && run.kept) buttons.push(...keptButtons(id));
  const detail = !active && run.detail ? el("div", { className: "floyo-run-detail", textContent: run.detail }) : null;
  const cardEl = el("div", { className: "floyo-run" },
    el("div", { className: "floyo-run-top" }, el("span", { className: "floyo-run-state", textContent: state }),
      el("span", { className: "floyo-run-id", textContent: id ?? run.hint ?? run.marker }), ...buttons),
    el("div", { className: "floyo-run-meta", title: run.detail ?? "",
      textContent: [run.name, run.status, flo, cost, took && `took ${took}`, when].filter(Boolean).join(" · ") }),
    detail,
    run.outputs?.length ? el("div", { className: "floyo-run-outputs" }, ...run.outputs.map((o) => outputLink(id, o))) : null);
  Object.assign(cardEl.dataset, { runId: id ?? "", marker: run.marker, state: run.state });
  return Object.assign(cardEl, { floyoKey: id ?? run.marker, floyoShape: shapeOf(cardEl) });
}

// A card as drawn, but for its meta line: a live run's elapsed time changes on every refresh.
function shapeOf(card) {
  const copy = card.cloneNode(true);
  copy.querySelector(".floyo-run-meta").remove();
  return copy.outerHTML;
}

// Puts `next` in the list, keeping each card whose run shows the same as before: the same element,
// its meta line brought up to date. A press on its buttons as a refresh lands still clicks, and its
// "Confirm cancel" stays; new and changed cards take their places without rebuilding the rest.
function reconcile(list, next) {
  const before = new Map([...list.children].filter((c) => c.floyoShape).map((c) => [c.floyoKey, c]));
  const children = next.map((card) => {
    const old = card.floyoShape && before.get(card.floyoKey);
    if (old) card.floyoTop = old.floyoTop; // the same run's card: moved only if its place changes
    if (!old || old.floyoShape !== card.floyoShape) return card;
    before.delete(card.floyoKey); // a key shown twice keeps one element
    old.querySelector(".floyo-run-meta").replaceWith(card.querySelector(".floyo-run-meta"));
    return old;
  });
  children.forEach((child, i) => { if (list.children[i] !== child) list.insertBefore(child, list.children[i] ?? null); });
  while (list.children.length > children.length) list.lastElementChild.remove();
}

// A refresh can move cards under the pointer: a new run's card above them, a card above grown,
// gone or replaced. A click aimed at the card that was there would then cancel, fetch or queue
// another run, so the buttons that act on a run stay disabled for SETTLE_MS on each card whose
// place changed (a new card counts, but not on the list's first fill).
function holdMoved(list, hadCards) {
  for (const card of list.querySelectorAll(".floyo-run")) {
    const top = card.offsetTop;
    const moved = card.floyoTop === undefined ? hadCards : card.floyoTop !== top;
    card.floyoTop = top;
    if (!moved) continue;
    const held = card.floyoHeld ?? (card.floyoHeld = new Set());
    for (const b of card.querySelectorAll(".floyo-run-cancel, .floyo-run-fetch, .floyo-run-again")) {
      if (!b.disabled) { b.disabled = true; held.add(b); }
    }
    clearTimeout(card.floyoSettle);
    card.floyoSettle = setTimeout(() => { held.forEach((b) => { b.disabled = false; }); held.clear(); }, SETTLE_MS);
  }
}

// Every run the list shows: pages of at most 200 (the route's cap) until `shown` or the end.
async function loadRuns() {
  const runs = [];
  let data = null;
  do {
    const query = new URLSearchParams({ offset: runs.length, limit: Math.min(200, shown - runs.length) });
    if (filter.state) query.set("state", filter.state);
    if (filter.q) query.set("q", filter.q);
    data = await call("GET", `/floyo/runs?${query}`);
    runs.push(...data.runs);
  } while (data.more && runs.length < shown);
  return { ...data, runs };
}

function moreButton() {
  return el("button", { className: "floyo-runs-more", textContent: "Load more",
    onclick: () => { shown += PAGE; refresh(); } });
}

async function refresh(opening = false) {
  // rendered once the tab opens (maybe before the sidebar attaches it); a closed tab asks for nothing
  if (!root || (!opening && !root.isConnected)) return;
  const list = root.querySelector(".floyo-runs-list");
  try {
    const data = await loadRuns();
    const { runs, more, active, journal, totals, states } = data;
    live = active.length;
    root.querySelector(".floyo-runs-totals").replaceWith(totalsHeader(totals));
    spendHeader(root.querySelector(".floyo-runs-head"), data); // balance, spend against budgets
    fillStates(states);
    const byRun = new Map(active.filter((a) => a.run_id).map((a) => [a.run_id, a]));
    // the journal is not recording (a peer holds it locked): say so above the list, every time
    const warning = journal && !journal.recording
      ? el("p", { className: "floyo-runs-journal-warning", textContent: `⚠ ${journal.problem}` }) : null;
    const empty = filter.state || filter.q ? "No run matches." : "No Floyo runs yet. Queue a graph with a Floyo Remote Run node.";
    const hadCards = list.querySelector(".floyo-run") != null;
    reconcile(list, [warning, ...(runs.length ? runs.map((r) => runCard(r, byRun.get(r.run_id)))
      : [el("p", { textContent: empty })]), more ? moreButton() : null].filter((c) => c != null));
    holdMoved(list, hadCards);
  } catch (e) {
    list.replaceChildren(el("p", { textContent: `Could not read the run journal: ${e.message}` }));
  }
}

function fillStates(states) {
  const select = root.querySelector(".floyo-runs-state");
  if (!states || select.options.length > 1) return;
  select.append(...states.map((s) => el("option", { value: s, textContent: s })));
}

function controls() {
  let typing = null;
  const search = el("input", { type: "search", className: "floyo-runs-search", placeholder: "Search name or run id",
    ariaLabel: "Search Floyo runs", oninput: () => { clearTimeout(typing);
      typing = setTimeout(() => { filter.q = search.value.trim(); shown = PAGE; refresh(); }, 300); } });
  const state = el("select", { className: "floyo-runs-state", ariaLabel: "Filter Floyo runs by state",
    onchange: () => { filter.state = state.value; shown = PAGE; refresh(); } }, el("option", { value: "", textContent: "every state" }));
  return el("div", { className: "floyo-runs-controls" }, state, search);
}

function render(container) {
  root = el("div", { className: "floyo-runs" },
    el("div", { className: "floyo-runs-head" }, el("strong", { textContent: "Floyo runs" }),
      el("button", { className: "floyo-runs-refresh", textContent: "Refresh", onclick: () => refresh() })),
    totalsHeader(null), controls(), el("div", { className: "floyo-runs-list" }));
  container.replaceChildren(root);
  refresh(true);
}

export const RUNS_TAB = {
  id: "floyo-runs", icon: "pi pi-cloud", title: "Floyo runs", label: "Floyo",
  tooltip: "Floyo runs: status, FloTime, outputs; cancel or fetch", type: "custom", render,
};

// a run changed: show it (coalesced, the events come in bursts); live runs refresh on their own too
export function followRuns() {
  api.addEventListener("floyo.run", () => { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 300); });
  setInterval(() => { if (live) refresh(); }, LIVE_MS);
}
