// Floyo for ComfyUI, frontend: a Cancel button and one live status line on the run nodes, and the
// API-key setup panel. The key only ever goes to the write-only POST /floyo/key: it is never a
// setting value, because ComfyUI stores settings in plain text and serves them at GET /api/settings.
// Runs are keyed by ComfyUI's execution id ("12" at the top level, "12:5" for node 5 inside the
// subgraph node 12, deeper ids for nested subgraphs): the id the server, its events and the
// cancel route use. The status line is built here from the floyo.run events (the server sends no
// progress text), so the node shows its status once and the elapsed time counts between events.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

// Node ids, copied from nodes/contract.py (JS_NODE_IDS, RUN_NODES); tests/test_contract.py fails if they drift.
const NODE = { REMOTE_RUN: "FloyoRemoteRun", FETCH_OUTPUTS: "FloyoFetchOutputs" };
const RUN_NODES = new Set([NODE.REMOTE_RUN, NODE.FETCH_OUTPUTS]);
const ENDED = new Set(["reused", "cancelled", "canceled", "saved", "failed", "error"]);
const CANCEL = "Cancel Floyo run";
const runs = new Map(); // execution id -> {status, run_id, prompt_id, elapsed_s, flotime_ms, at, live, ...}
const ourPrompts = new Set(); // execution_start reaches only the tab that queued the prompt

document.head.append(Object.assign(document.createElement("style"), { textContent: `.floyo-status{font:12px/18px
monospace;padding:0 6px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;color:var(--input-text,#ddd)}
.floyo-stale{opacity:.55;font-style:italic}.floyo-key{display:flex;gap:6px;align-items:center;flex-wrap:wrap}` }));

function notify(severity, detail) {
  const toast = app.extensionManager?.toast;
  if (toast?.add) toast.add({ severity, summary: "Floyo", detail, life: 10000 });
  else console.warn(`Floyo: ${detail}`);
}

async function call(method, path, body) {
  const res = await api.fetchApi(path, { method, headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

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
  const parts = [`Floyo: ${done}${s.status}${count}`, outage, secs != null && `${Math.round(secs)}s`,
    flo != null && `FloTime ${(flo / 1000).toFixed(1)}s`,
    s.partner_cost_usd != null && `$${Number(s.partner_cost_usd).toFixed(2)} partner API`,
    s.status === "reused" ? s.note : s.run_id, s.warnings?.length && `⚠ ${s.warnings.length} warning(s)`];
  return parts.filter(Boolean).join(" · ") + (s.live ? "" : " (ended)");
}

function render(id) {
  const node = nodeFor(id);
  if (!node?.floyoStatus) return;
  const s = runs.get(String(id));
  node.floyoStatus.textContent = statusText(s);
  node.floyoStatus.title = s?.warnings?.join("\n") ?? ""; // the warnings in full, on hover
  node.floyoStatus.classList.toggle("floyo-stale", !!s && !s.live);
  // Greyed out on the canvas, and on the Vue nodes of frontends that follow `disabled` (1.58).
  // Frontend 1.32's Vue nodes never disable a button widget, so there cancel() is inert instead.
  const button = node.widgets?.find((w) => w.name === CANCEL);
  if (button) button.disabled = !s?.live;
  node.setDirtyCanvas?.(true, false);
}

function update(id, fields) {
  const prev = runs.get(id);
  const carried = prev && { elapsed_s: elapsed(prev),
    reconnecting_s: prev.reconnecting_s == null ? null : prev.reconnecting_s + since(prev) };
  runs.set(id, { ...prev, ...carried, ...fields, at: Date.now() });
  render(id);
}

function cancel(node) {
  // the live runs of this node: one per execution id that names it (a subgraph used twice: both)
  const live = [...runs].filter(([id, s]) => s.live && nodeFor(id) === node);
  if (!live.length) return notify("info", "This node has no Floyo run in progress.");
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
  if (d.prompt_id && !ourPrompts.has(d.prompt_id)) return; // another tab's prompt
  const { status, run_id, prompt_id, flotime_ms, message } = d;
  const fields = { status, run_id, prompt_id, live: !ENDED.has(status), reconnecting_s: d.reconnecting_s ?? null };
  if (d.elapsed_s != null) fields.elapsed_s = d.elapsed_s;
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

function onExecuting({ detail }) {
  const id = detail?.node ?? detail; // the execution id; 1.32 sends it bare, some versions in an object
  const node = id != null && nodeFor(id);
  if (!node || !RUN_NODES.has(node.comfyClass) || runs.get(String(id))?.live) return;
  runs.delete(String(id)); // a new execution of this node: forget the previous run
  const prompt_id = detail?.prompt_id ?? [...ourPrompts].at(-1);
  update(String(id), { status: "starting", prompt_id, elapsed_s: 0, live: true });
}

function onPromptEnd({ detail }) {
  const ended = detail?.prompt_id; // only this prompt's runs; all of them if the event has no id
  for (const [id, s] of runs) if (s.live && (!ended || s.prompt_id === ended)) update(id, { live: false });
}

function addRunWidgets(node) {
  const el = Object.assign(document.createElement("div"), { className: "floyo-status", textContent: statusText(null) });
  const line = node.addDOMWidget("floyo_status", "floyo-status", el,
    { serialize: false, hideOnZoom: false, margin: 4, getMinHeight: () => 26, getMaxHeight: () => 26 });
  line.serialize = false; // widgets_values is positional: keep both widgets out of it
  node.floyoStatus = el;
  const button = node.addWidget("button", CANCEL, null, () => cancel(node), { serialize: false });
  Object.assign(button, { serialize: false, disabled: true });
}

function keyPanel() {
  const root = Object.assign(document.createElement("div"), { className: "floyo-key" });
  root.innerHTML = `<input type="password" class="floyo-key-input" autocomplete="off" placeholder="flo_…">
    <button class="floyo-key-save p-button p-button-sm">Save key</button>
    <button class="floyo-key-clear p-button p-button-sm p-button-secondary">Remove key file</button>
    <span class="floyo-key-status"></span>`;
  const [input, save, clear, out] = root.querySelectorAll("input, button, span");
  const show = (request, done = "") => request.then((st) => {
    out.textContent = done + (st.configured ? `Configured (${st.source})` : "Not configured")
      + (done && st.source === "environment" ? "; FLOYO_API_KEY in ComfyUI's environment takes precedence" : "");
  }, (e) => { out.textContent = `Error: ${e.message}`; });
  save.onclick = () => {
    show(call("POST", "/floyo/key", { key: input.value }), "Saved to the key file. ");
    input.value = "";
  };
  clear.onclick = () => show(call("DELETE", "/floyo/key"), "Key file removed. ");
  show(call("GET", "/floyo/key"));
  return root;
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

app.registerExtension({
  name: "floyo.RunControls",
  settings: [{
    id: "Floyo.ApiKey.Setup", category: ["Floyo", "API key", "Setup"], name: "Floyo API key", defaultValue: "",
    tooltip: "Sent to this ComfyUI server and kept in a 0600 key file in its user folder; never stored as a setting.",
    type: () => keyPanel(), // a custom row: the setting's own value is never written
  }],
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!RUN_NODES.has(nodeData.name)) return;
    const original = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const r = original?.apply(this, arguments);
      addRunWidgets(this);
      return r;
    };
  },
  setup() {
    api.addEventListener("floyo.run", onRunEvent);
    api.addEventListener("executing", onExecuting);
    api.addEventListener("execution_start", ({ detail }) => ourPrompts.add(detail?.prompt_id));
    const ends = ["execution_success", "execution_error", "execution_interrupted"];
    for (const e of ends) api.addEventListener(e, onPromptEnd);
    setInterval(() => { for (const [id, s] of runs) if (s.live) render(id); }, 1000);
    const toPrompt = app.graphToPrompt.bind(app);
    app.graphToPrompt = async (...args) => { const p = await toPrompt(...args); addWidgetNames(p.output); return p; };
  },
});

// ---- The "Floyo runs" sidebar tab ----
// Floyo for ComfyUI, frontend: the "Floyo runs" sidebar tab, a view of this ComfyUI's run journal
// (GET /floyo/runs). Each run shows its status, FloTime, run id (with a copy button) and saved
// outputs. Cancel appears on runs a node of this ComfyUI created and still waits on (it goes
// through the same route as the node's own Cancel button); Fetch on finished runs saves their
// outputs into output/floyo/<run id>/ (POST /floyo/runs/<run id>/fetch). Never shows the API key.
// Its own block, so its names stay apart from the node code above.
{

  const FINISHED = new Set(["saved", "succeeded", "running", "unknown"]); // states that may have outputs
  const TERMINAL = new Set(["done", "complete", "completed", "succeeded", "success", "finished"]);
  const IMAGE = /\.(png|jpe?g|webp|gif|bmp)$/i;
  let root = null;
  let refreshTimer = null;

  document.head.append(Object.assign(document.createElement("style"), { textContent: `.floyo-runs{padding:8px;
  font:13px/1.4 sans-serif;color:var(--fg-color,#ddd);overflow:auto;height:100%;box-sizing:border-box}
  .floyo-runs-head{display:flex;justify-content:space-between;align-items:center;margin-bottom:6px}
  .floyo-run{border:1px solid var(--border-color,#444);border-radius:6px;padding:6px 8px;margin:6px 0}
  .floyo-run-top{display:flex;gap:6px;align-items:center;flex-wrap:wrap}.floyo-run-state{font-weight:600}
  .floyo-run-id{font-family:monospace;font-size:12px;opacity:.85}.floyo-run-meta{opacity:.75;font-size:12px}
  .floyo-run-outputs{display:flex;gap:4px;flex-wrap:wrap;margin-top:4px}.floyo-run-outputs img{width:56px;
  height:56px;object-fit:cover;border-radius:3px}.floyo-run-outputs a{font-size:12px}
  .floyo-runs button{font-size:12px;padding:1px 8px;cursor:pointer}
  .floyo-runs-journal-warning{border:1px solid #c90;border-radius:6px;padding:6px 8px;color:#fc6}` }));

  function notify(severity, detail) {
    app.extensionManager?.toast?.add?.({ severity, summary: "Floyo", detail, life: 6000 });
  }


  function el(tag, props = {}, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.filter((c) => c != null));
    return node;
  }

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
    notify("info", `Copied ${text}`);
  }

  // path: relative to ComfyUI's output folder, as GET /floyo/runs gives it ("floyo/run_x/a.png")
  function outputLink(runId, path) {
    const parts = path.split(/[\\/]/);
    const name = parts.pop();
    const subfolder = parts.length ? parts.join("/") : `floyo/${runId}`;
    const url = api.apiURL(`/view?${new URLSearchParams({ filename: name, subfolder, type: "output" })}`);
    const link = el("a", { href: url, target: "_blank", title: name, className: "floyo-run-output" });
    link.append(IMAGE.test(name) ? el("img", { src: url, alt: name, loading: "lazy" }) : name);
    return link;
  }

  function runCard(run, live) {
    const id = run.run_id;
    const state = live ? (live.cancel_requested ? "cancelling…" : live.status) : run.state;
    const flo = run.flotime_ms != null ? `FloTime ${(run.flotime_ms / 1000).toFixed(1)}s` : null;
    const cost = run.partner_cost_usd != null ? `$${Number(run.partner_cost_usd).toFixed(2)}` : null;
    const when = run.created_at ? new Date(run.created_at * 1000).toLocaleString() : null;
    const buttons = [];
    if (id) buttons.push(el("button", { className: "floyo-run-copy", textContent: "Copy id", onclick: () => copy(id) }));
    if (live?.creates && id) buttons.push(el("button", { className: "floyo-run-cancel", textContent: "Cancel",
      onclick: () => call("POST", "/floyo/runs/cancel", { run_id: id })
        .then(() => { notify("info", `Cancel requested for ${id}; waiting for Floyo…`); refresh(); })
        .catch((e) => notify("error", `Cancel failed: ${e.message}`)) }));
    const finished = !live && id && FINISHED.has(run.state) && (run.state !== "running" || TERMINAL.has(run.status));
    if (finished) buttons.push(el("button", { className: "floyo-run-fetch", textContent: "Fetch",
      onclick: (ev) => { ev.target.disabled = true; ev.target.textContent = "Fetching…";
        call("POST", `/floyo/runs/${id}/fetch`, {})
          .then((r) => { notify("success", `${r.paths.length} output(s) of ${id} saved in output/floyo/${id}/`); refresh(); })
          .catch((e) => { notify("error", `Fetch failed: ${e.message}`); refresh(); }); } }));
    const cardEl = el("div", { className: "floyo-run" },
      el("div", { className: "floyo-run-top" }, el("span", { className: "floyo-run-state", textContent: state }),
        el("span", { className: "floyo-run-id", textContent: id ?? run.hint ?? run.marker }), ...buttons),
      el("div", { className: "floyo-run-meta", title: run.detail ?? "",
        textContent: [run.name, run.status, flo, cost, when].filter(Boolean).join(" · ") }),
      run.paths?.length ? el("div", { className: "floyo-run-outputs" }, ...run.paths.map((p) => outputLink(id, p))) : null);
    Object.assign(cardEl.dataset, { runId: id ?? "", marker: run.marker });
    return cardEl;
  }

  async function refresh() {
    if (!root) return; // rendered once the tab first opens
    const list = root.querySelector(".floyo-runs-list");
    try {
      const { runs, active, journal } = await call("GET", "/floyo/runs");
      const live = new Map(active.filter((a) => a.run_id).map((a) => [a.run_id, a]));
      // the journal is not recording (a peer holds it locked): say so above the list, every time
      const warning = journal && !journal.recording
        ? el("p", { className: "floyo-runs-journal-warning", textContent: `⚠ ${journal.problem}` }) : null;
      list.replaceChildren(...[warning, ...(runs.length ? runs.map((r) => runCard(r, live.get(r.run_id)))
        : [el("p", { textContent: "No Floyo runs yet. Queue a graph with a Floyo Remote Run node." })])]
        .filter((c) => c != null));
    } catch (e) {
      list.replaceChildren(el("p", { textContent: `Could not read the run journal: ${e.message}` }));
    }
  }

  function render(container) {
    root = el("div", { className: "floyo-runs" },
      el("div", { className: "floyo-runs-head" }, el("strong", { textContent: "Floyo runs" }),
        el("button", { className: "floyo-runs-refresh", textContent: "Refresh", onclick: refresh })),
      el("div", { className: "floyo-runs-list" }));
    container.replaceChildren(root);
    refresh();
  }

  app.registerExtension({
    name: "floyo.RunsTab",
    setup() {
      app.extensionManager?.registerSidebarTab?.({
        id: "floyo-runs", icon: "pi pi-cloud", title: "Floyo runs", label: "Floyo",
        tooltip: "Floyo runs: status, FloTime, outputs; cancel or fetch", type: "custom", render,
      });
      // a run changed: show it (coalesced, the events come in bursts)
      api.addEventListener("floyo.run", () => { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 300); });
    },
  });
}
