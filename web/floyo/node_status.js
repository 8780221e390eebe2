// Floyo for ComfyUI, frontend: the run nodes' Cancel button and one live status line. Runs are
// keyed by ComfyUI's execution id ("12" at the top level, "12:5" for node 5 inside the subgraph
// node 12, deeper ids for nested subgraphs): the id the server, its events and the cancel route
// use. The status line is built here from the floyo.run events (the server sends no progress
// text), so the node shows its status once and the elapsed time counts between events. Whether a
// run has ended is the event's `ended`: the server's word, never a list of status words kept here.
// The node follows its run, not the tab: events of every prompt are shown (a second browser), and
// GET /floyo/active, read every SYNC_MS, brings back what no event told this page (a reload, a
// run resumed after a restart, whose watcher sends no events) and whether the run was created here.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";
import { addStyle, call, cancelWarning, confirmed, dollars, floTime, notify } from "./api.js";

// Node ids, copied from nodes/current_graph/contract.py (JS_NODE_IDS, RUN_NODES); tests/test_contract.py fails if they drift.
const NODE = { REMOTE_RUN: "FloyoRemoteRun", FETCH_OUTPUTS: "FloyoFetchOutputs" };
export const RUN_NODES = new Set([NODE.REMOTE_RUN, NODE.FETCH_OUTPUTS]);
export const REMOTE_RUN = NODE.REMOTE_RUN; // the runs tab's "Open what ran" of a run queued without a UI workflow
const CANCEL = "Cancel Floyo run";
const runs = new Map(); // execution id -> {status, run_id, prompt_id, elapsed_s, flotime_ms, at, live, ...}
const ourPrompts = new Set(); // execution_start reaches only the tab that queued the prompt
const SYNC_MS = 2000; // a reloaded page or a second browser shows a live run within ~2 s

addStyle(`.floyo-status{font:12px/18px monospace;padding:0 6px;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis;color:var(--input-text,#ddd)}.floyo-stale{opacity:.55;font-style:italic}`);

const since = (s) => (s.live ? (Date.now() - s.at) / 1000 : 0);
const elapsed = (s) => (s.elapsed_s == null ? null : s.elapsed_s + since(s));

// The node an execution id names: "12:5" is node 5 of the subgraph inside node 12 (nested: "12:5:3").
function nodeFor(executionId) {
  let graph = app.rootGraph ?? app.graph, node = null;
  for (const part of String(executionId).split(":")) {
    node = graph?.getNodeById(part) ?? graph?.getNodeById(Number(part));
    graph = node?.subgraph;
  }
  return node ?? null;
}

function statusText(s) {
  if (!s) return "Floyo: no run";
  const secs = elapsed(s), flo = s.flotime_ms;
  const count = s.status === "downloading" && s.outputs != null ? ` ${s.downloaded ?? 0}/${s.outputs}` : "";
  const outage = s.reconnecting_s != null && s.live ? `reconnecting… (${Math.round(s.reconnecting_s + since(s))}s)` : null;
  const done = s.list_total != null ? `${s.list_done}/${s.list_total} done · ` : "";
  const step = s.progress && s.live ? ` ${s.progress}` : ""; // a gateway's "KSampler 7/20"
  const eta = s.live && s.eta_s != null ? `ETA ≈ ${Math.max(0, Math.round(s.eta_s - since(s)))}s` : null;
  const parts = [`Floyo: ${done}${s.status}${step}${count}`, outage, secs != null && `${Math.round(secs)}s`, eta,
    flo != null && floTime(flo),
    s.partner_cost_usd != null && `${dollars(s.partner_cost_usd)} partner API`,
    s.status === "reused" ? s.note : s.run_id, s.warnings?.length && `⚠ ${s.warnings.length} warning(s)`];
  return parts.filter(Boolean).join(" · ") + (s.live ? "" : " (ended)");
}

function render(id) {
  const node = nodeFor(id);
  if (!node?.floyoStatus) return;
  const s = runs.get(String(id));
  // the next run's estimate (spend.js): on the line before a first run, on hover always
  const next = node.floyoEstimate ? `next run: ${node.floyoEstimate}` : "";
  node.floyoStatus.textContent = statusText(s) + (!s && next ? ` · ${next}` : "");
  node.floyoStatus.title = [...(s?.warnings ?? []), next].filter(Boolean).join("\n"); // in full, on hover
  node.floyoStatus.classList.toggle("floyo-stale", !!s && !s.live);
  // Greyed out on the canvas, and on the Vue nodes of frontends that follow `disabled` (1.58).
  // Frontend 1.32's Vue nodes never disable a button widget, so there cancel() is inert instead.
  const button = node.widgets?.find((w) => w.name === CANCEL);
  if (button) Object.assign(button, { disabled: !s?.live, label: cancelLabel(s) });
  node.setDirtyCanvas?.(true, false);
}

function update(id, fields) {
  const prev = runs.get(id);
  const carried = prev && { elapsed_s: elapsed(prev), eta_s: prev.eta_s == null ? null : prev.eta_s - since(prev),
    reconnecting_s: prev.reconnecting_s == null ? null : prev.reconnecting_s + since(prev) };
  runs.set(id, { ...prev, ...carried, ...fields, at: Date.now() });
  render(id);
}

// The button says when it stops more than one run, or a run this ComfyUI did not create.
function cancelLabel(s) {
  if (s?.live && s.list_total > 1) return `Cancel all ${s.list_total} Floyo runs`;
  if (s?.live && s.created_here === false) return `${CANCEL} (not started here)`;
  return CANCEL;
}

function cancel(node) {
  // the live runs of this node: one per execution id that names it (a subgraph used twice: both)
  const live = [...runs].filter(([id, s]) => s.live && nodeFor(id) === node);
  if (!live.length) return notify("info", "This node has no Floyo run in progress.");
  const warning = live.map(([, s]) => cancelWarning(s)).find(Boolean);
  if (!confirmed(node.floyoArmed ??= {}, warning)) return; // asks once, on the first click
  for (const [id, s] of live) {
    update(id, { status: "cancelling…" });
    call("POST", "/floyo/runs/cancel", { node_id: id, prompt_id: s.prompt_id })
      .then((r) => notify("info", `Cancel requested for ${r.run_id ?? "the run"}; waiting for Floyo…`))
      .catch((e) => { update(id, { status: s.status }); notify("error", `Cancel failed: ${e.message}`); });
  }
}

// The toast of each remote-cancel outcome, by the event's `cancel`: CancelResult's values
// (floyo_client/outcome.py; tests/glue/test_cancel_toasts.py keeps the two lists equal).
const CANCEL_TOASTS = { cancelled: ["success", "Floyo run cancelled."],
  "already finished": ["info", "The Floyo run had already finished; nothing to cancel."],
  "not found": ["warn", "Floyo no longer has this run; nothing to cancel."],
  "could not be confirmed": ["warn", "Floyo did not confirm the cancel; the next start cancels the run."] };

function onRunEvent({ detail: d }) {
  const { status, run_id, prompt_id, flotime_ms, message } = d;
  const fields = { status, run_id, prompt_id, live: !d.ended, reconnecting_s: d.reconnecting_s ?? null,
    progress: d.progress ?? null };
  if (d.elapsed_s != null) fields.elapsed_s = d.elapsed_s;
  if (d.eta_s != null) fields.eta_s = d.eta_s; // time left by the estimate (nodes/run/estimate.py)
  if (flotime_ms != null) fields.flotime_ms = flotime_ms;
  if (d.outputs != null) Object.assign(fields, { downloaded: d.downloaded, outputs: d.outputs });
  // a node fed a list: one run per element, one line for all; live until every element is done
  if (d.list_total != null) Object.assign(fields, { list_done: d.list_done, list_total: d.list_total,
    live: fields.live || d.list_done < d.list_total });
  if (d.partner_cost_usd != null) fields.partner_cost_usd = d.partner_cost_usd; // final, when Floyo reports it
  if (status === "reused") fields.note = message; // "reused run_… from <date>, no FloTime spent"
  if (d.warnings?.length) { // what the run's outputs lack (dropped frames, nodes that made no files)
    fields.warnings = d.warnings;
    notify("warn", d.warnings.join("\n"));
  }
  update(String(d.node_id), fields);
  const [severity, text] = CANCEL_TOASTS[d.cancel] ?? [d.cancel == null ? "info" : "warn", "Floyo run stopped."];
  if (status === "cancelled") notify(severity, message || text);
}

// A node of a prompt this page saw start begins to run. ComfyUI also sends "executing" to a page
// whose websocket returns with the queuing tab's client id (a reload; server.py's websocket
// handler: "On reconnect ... send the current node"), with no prompt id: no new execution, and
// read as one it would show "starting" over a run long past that until its next event. Such a
// page learns the run from GET /floyo/active instead.
function onExecuting({ detail }) {
  const id = detail?.node ?? detail; // the execution id; 1.32 sends it bare, some versions in an object
  const node = id != null && nodeFor(id);
  const prompt_id = detail?.prompt_id ?? [...ourPrompts].at(-1);
  if (!node || !RUN_NODES.has(node.comfyClass) || !ourPrompts.has(prompt_id) || runs.get(String(id))?.live) return;
  runs.delete(String(id)); // a new execution of this node: forget the previous run
  update(String(id), { status: "starting", prompt_id, elapsed_s: 0, live: true });
}

function onPromptEnd({ detail }) {
  const ended = detail?.prompt_id; // only this prompt's runs; all of them if the event has no id
  for (const [id, s] of runs) if (s.live && (!ended || s.prompt_id === ended)) update(id, { live: false });
}

// The next run's estimate (or that there is none), by execution id.
export function showEstimate(id, text) {
  const node = nodeFor(id);
  if (!node?.floyoStatus) return;
  node.floyoEstimate = text;
  render(id);
}

// The live runs the server waits on, onto the nodes they belong to (by execution id). A run this
// page hears of through events keeps its events' status and only learns where it came from; a run
// it learned of here is kept up from here, and ended once the server no longer waits on it.
async function syncActive() {
  let active;
  try {
    ({ active } = await call("GET", "/floyo/active"));
  } catch {
    return; // ComfyUI restarting: the next round tries again
  }
  const seen = new Set();
  for (const a of active) {
    const id = String(a.node_id), node = nodeFor(id), cur = runs.get(id);
    if (!node || !RUN_NODES.has(node.comfyClass)) continue;
    seen.add(id);
    const known = { created_here: a.created_here,
      ...(a.list_total != null && { list_done: a.list_done, list_total: a.list_total }) };
    if (cur?.live && !cur.synced) { Object.assign(cur, { created_here: a.created_here }); render(id); continue; }
    if (cur && !cur.live && cur.run_id && cur.run_id === a.run_id) continue; // ended by its own event
    update(id, { ...known, status: a.cancel_requested ? "cancelling…" : a.status, run_id: a.run_id,
      prompt_id: a.prompt_id, elapsed_s: a.elapsed_s, live: true, synced: true });
  }
  for (const [id, s] of runs) if (s.synced && s.live && !seen.has(id)) update(id, { live: false });
}

export function addRunWidgets(node) {
  const el = Object.assign(document.createElement("div"), { className: "floyo-status", textContent: statusText(null) });
  const line = node.addDOMWidget("floyo_status", "floyo-status", el,
    { serialize: false, hideOnZoom: false, margin: 4, getMinHeight: () => 26, getMaxHeight: () => 26 });
  line.serialize = false; // widgets_values is positional: keep both widgets out of it
  node.floyoStatus = el;
  const button = node.addWidget("button", CANCEL, null, () => cancel(node), { serialize: false });
  Object.assign(button, { serialize: false, disabled: true });
}

// A node type this ComfyUI lacks leaves graphToPrompt without a class_type, and the workflow sent
// with the prompt drops its unlinked widget slots; the prompt hook builds such a node for Floyo
// from its widget input names (floyo_client/ui_nodes.py), which the loaded node still has.
function addWidgetNames(output) {
  for (const [id, entry] of Object.entries(output)) {
    if (entry.class_type) continue;
    let graph = app.graph, node = null;
    for (const part of id.split(":")) { node = graph?.getNodeById(Number(part)); graph = node?.subgraph; }
    const names = node?.inputs?.filter((i) => i.widget?.name).map((i) => i.widget.name);
    if (names?.length) entry.floyo_widget_inputs = names;
  }
}


export function listen() {
  api.addEventListener("floyo.run", onRunEvent);
  api.addEventListener("executing", onExecuting);
  api.addEventListener("execution_start", ({ detail }) => ourPrompts.add(detail?.prompt_id));
  const ends = ["execution_success", "execution_error", "execution_interrupted"];
  for (const e of ends) api.addEventListener(e, onPromptEnd);
  setInterval(() => { for (const [id, s] of runs) if (s.live) render(id); }, 1000);
  syncActive();
  setInterval(syncActive, SYNC_MS);
  const toPrompt = app.graphToPrompt.bind(app);
  app.graphToPrompt = async (...args) => { const p = await toPrompt(...args); addWidgetNames(p.output); return p; };
}
