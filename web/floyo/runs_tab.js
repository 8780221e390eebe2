// Floyo for ComfyUI, frontend: the "Floyo runs" sidebar tab, a view of this ComfyUI's run journal
// (GET /floyo/runs). Each run shows its status, FloTime, run id (with a copy button) and saved
// outputs. Cancel appears on runs a node of this ComfyUI created and still waits on (it goes
// through the same route as the node's own Cancel button); Fetch on runs the server says can be
// fetched (`fetchable`) saves their outputs into output/floyo/<run id>/. Each output comes with its
// kind (`image`, `video`, `audio`, `file`) from the server, so this file keeps no list of states,
// status words or file extensions of its own. Never shows the API key.
import { api } from "../../../scripts/api.js";
import { addStyle, call, el, notify } from "./api.js";
import { spendHeader } from "./spend.js";

let root = null;
let refreshTimer = null;

addStyle(`.floyo-runs{padding:8px;font:13px/1.4 sans-serif;color:var(--fg-color,#ddd);overflow:auto;height:100%;
box-sizing:border-box}.floyo-runs-head{display:flex;justify-content:space-between;align-items:center;margin-bottom:6px}
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

function cancelButton(id) {
  return el("button", { className: "floyo-run-cancel", textContent: "Cancel",
    onclick: () => call("POST", "/floyo/runs/cancel", { run_id: id })
      .then(() => { notify("info", `Cancel requested for ${id}; waiting for Floyo…`, 6000); refresh(); })
      .catch((e) => notify("error", `Cancel failed: ${e.message}`, 6000)) });
}

function fetchButton(id) {
  return el("button", { className: "floyo-run-fetch", textContent: "Fetch",
    onclick: (ev) => { ev.target.disabled = true; ev.target.textContent = "Fetching…";
      call("POST", `/floyo/runs/${id}/fetch`, {})
        .then((r) => { notify("success", `${r.paths.length} output(s) of ${id} saved in output/floyo/${id}/`, 6000); refresh(); })
        .catch((e) => { notify("error", `Fetch failed: ${e.message}`, 6000); refresh(); }); } });
}

function runCard(run, live) {
  const id = run.run_id;
  const state = live ? (live.cancel_requested ? "cancelling…" : live.status) : run.state;
  const flo = run.flotime_ms != null ? `FloTime ${(run.flotime_ms / 1000).toFixed(1)}s` : null;
  const cost = run.partner_cost_usd != null ? `$${Number(run.partner_cost_usd).toFixed(2)}` : null;
  const when = run.created_at ? new Date(run.created_at * 1000).toLocaleString() : null;
  const buttons = [];
  if (id) buttons.push(el("button", { className: "floyo-run-copy", textContent: "Copy id", onclick: () => copy(id) }));
  if (live?.creates && id) buttons.push(cancelButton(id));
  if (!live && id && run.fetchable) buttons.push(fetchButton(id));
  const cardEl = el("div", { className: "floyo-run" },
    el("div", { className: "floyo-run-top" }, el("span", { className: "floyo-run-state", textContent: state }),
      el("span", { className: "floyo-run-id", textContent: id ?? run.hint ?? run.marker }), ...buttons),
    el("div", { className: "floyo-run-meta", title: run.detail ?? "",
      textContent: [run.name, run.status, flo, cost, when].filter(Boolean).join(" · ") }),
    run.outputs?.length ? el("div", { className: "floyo-run-outputs" }, ...run.outputs.map((o) => outputLink(id, o))) : null);
  Object.assign(cardEl.dataset, { runId: id ?? "", marker: run.marker });
  return cardEl;
}

async function refresh() {
  if (!root) return; // rendered once the tab first opens
  const list = root.querySelector(".floyo-runs-list");
  try {
    const data = await call("GET", "/floyo/runs");
    const { runs, active, journal } = data;
    spendHeader(root.querySelector(".floyo-runs-head"), data); // balance, spend against budgets
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

export const RUNS_TAB = {
  id: "floyo-runs", icon: "pi pi-cloud", title: "Floyo runs", label: "Floyo",
  tooltip: "Floyo runs: status, FloTime, outputs; cancel or fetch", type: "custom", render,
};

// a run changed: show it (coalesced, the events come in bursts)
export function followRuns() {
  api.addEventListener("floyo.run", () => { clearTimeout(refreshTimer); refreshTimer = setTimeout(refresh, 300); });
}
