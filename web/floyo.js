// Floyo for ComfyUI, frontend: a Cancel button and a live status line on the run nodes, and the
// API-key setup panel. The key only ever goes to the write-only POST /floyo/key: it is never a
// setting value, because ComfyUI stores settings in plain text and serves them at GET /api/settings.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const RUN_NODES = new Set(["FloyoRemoteRun", "FloyoFetchOutputs"]);
const ENDED = new Set(["cancelled", "canceled", "saved", "failed", "error"]);
const CANCEL = "Cancel Floyo run";
const runs = new Map(); // node id -> {status, run_id, prompt_id, elapsed_s, flotime_ms, at, live}
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

const elapsed = (s) => (s.elapsed_s == null ? null : s.elapsed_s + (s.live ? (Date.now() - s.at) / 1000 : 0));

function statusText(s) {
  if (!s) return "Floyo: no run";
  const secs = elapsed(s), flo = s.flotime_ms;
  const parts = [`Floyo: ${s.status}`, secs != null && `${Math.round(secs)}s`,
    flo != null && `FloTime ${(flo / 1000).toFixed(1)}s`, s.run_id];
  return parts.filter(Boolean).join(" · ") + (s.live ? "" : " (ended)");
}

function render(id) {
  const node = app.graph?.getNodeById(id);
  if (!node?.floyoStatus) return;
  const s = runs.get(String(id));
  node.floyoStatus.textContent = statusText(s);
  node.floyoStatus.classList.toggle("floyo-stale", !!s && !s.live);
  // Greyed out on the canvas. Vue nodes keep a snapshot of widget options once any widget value
  // changes (frontend 1.32), so there the button stays enabled and cancel() is inert instead.
  const button = node.widgets?.find((w) => w.name === CANCEL);
  if (button) button.disabled = !s?.live;
  node.setDirtyCanvas?.(true, false);
}

function update(id, fields) {
  const prev = runs.get(id);
  runs.set(id, { ...prev, ...(prev && { elapsed_s: elapsed(prev) }), ...fields, at: Date.now() });
  render(id);
}

function cancel(node) {
  const id = String(node.id), s = runs.get(id);
  if (!s?.live) return notify("info", "This node has no Floyo run in progress.");
  update(id, { status: "cancelling…" });
  call("POST", "/floyo/runs/cancel", { node_id: id, prompt_id: s.prompt_id })
    .then((r) => notify("info", `Cancel requested for ${r.run_id ?? "the run"}; waiting for Floyo…`))
    .catch((e) => { update(id, { status: s.status }); notify("error", `Cancel failed: ${e.message}`); });
}

const SEVERITY = { cancelled: "success", "already finished": "info", "not found": "warn" }; // by d.cancel

function onRunEvent({ detail: d }) {
  if (d.prompt_id && !ourPrompts.has(d.prompt_id)) return; // another tab's prompt
  const { status, run_id, prompt_id, flotime_ms, message } = d;
  const fields = { status, run_id, prompt_id, live: !ENDED.has(status) };
  if (d.elapsed_s != null) fields.elapsed_s = d.elapsed_s;
  if (flotime_ms != null) fields.flotime_ms = flotime_ms;
  update(String(d.node_id), fields);
  const severity = SEVERITY[d.cancel] ?? (d.cancel ? "warn" : "info");
  if (status === "cancelled") notify(severity, message || "Floyo run cancelled.");
}

function onExecuting({ detail }) {
  const id = detail?.node ?? detail; // 1.32 sends the bare node id, some versions an object
  const node = id != null && app.graph?.getNodeById(id);
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
  },
});
