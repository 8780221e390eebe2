// Floyo for ComfyUI, frontend: the workflow picker. A "Pick Floyo workflow…" button on every node
// with a `floyo_workflow` input opens a dialog listing the team's and public workflows on Floyo
// (GET /floyo/workflows: search, scope, sort, and "More" through the cursor). "Inputs" shows what
// overrides can target in one (node titles, types and widget names, GET /floyo/workflows/{id});
// "Use" fills the node: its source and its floyo_workflow input, both as the server names them
// (`fill` in each answer), so no source word or node id is kept here. Never shows the API key.
import { addStyle, call, el, notify } from "./api.js";

export const PICK = "Pick Floyo workflow…";
const INPUT = "floyo_workflow"; // the node input this picker fills (nodes/node_types/runtime.py)

addStyle(`.floyo-picker-back{position:fixed;inset:0;background:#0008;z-index:10000;display:flex;
align-items:center;justify-content:center}.floyo-picker{background:var(--comfy-menu-bg,#222);
color:var(--fg-color,#ddd);border:1px solid var(--border-color,#555);border-radius:8px;width:560px;
max-height:80vh;display:flex;flex-direction:column;font:13px/1.4 sans-serif;padding:10px;gap:8px}
.floyo-picker-bar{display:flex;gap:6px}.floyo-picker-bar input{flex:1}.floyo-picker-list{overflow:auto;
flex:1}.floyo-wf{border:1px solid var(--border-color,#444);border-radius:6px;padding:6px 8px;margin:4px 0}
.floyo-wf-top{display:flex;gap:6px;align-items:center}.floyo-wf-name{font-weight:600;flex:1}
.floyo-wf-meta{opacity:.75;font-size:12px}.floyo-wf-inputs{font-size:12px;margin:4px 0 0 12px}
.floyo-picker button{font-size:12px;padding:1px 8px;cursor:pointer}`);

export function hasPicker(nodeData) {
  return Boolean(nodeData?.input?.optional?.[INPUT] || nodeData?.input?.required?.[INPUT]);
}

export function addPickButton(node) {
  const button = node.addWidget("button", PICK, null, () => openPicker(node), { serialize: false });
  button.serialize = false; // widgets_values is positional: a button must stay out of it
}

function select(label, values) {
  return el("select", { ariaLabel: label, title: label },
    ...values.map((v) => el("option", { value: v, textContent: v })));
}

function fillNode(node, item, fill) {
  for (const [name, value] of [[fill.source_input, fill.source], [fill.input, item.id]]) {
    const widget = node.widgets?.find((w) => w.name === name);
    if (!widget) continue;
    widget.value = value;
    widget.callback?.(value);
  }
  node.setDirtyCanvas?.(true, true);
  notify("success", `Node ${node.id} runs Floyo workflow "${item.name}" (${item.id})`, 6000);
}

async function showInputs(card, item) {
  const box = card.querySelector(".floyo-wf-inputs");
  box.textContent = "Reading its inputs…";
  try {
    const { targets } = await call("GET", `/floyo/workflows/${encodeURIComponent(item.id)}`);
    box.replaceChildren(...targets.map((t) => el("div", { className: "floyo-wf-target",
      textContent: `${t.title ?? `#${t.node}`} (${t.class_type}): ${t.inputs.join(", ") || "no widget inputs"}` })));
  } catch (e) {
    box.textContent = `Could not read its inputs: ${e.message}`;
  }
}

function workflowCard(item, use) {
  const card = el("div", { className: "floyo-wf", role: "listitem" });
  Object.assign(card.dataset, { workflowId: item.id });
  card.append(
    el("div", { className: "floyo-wf-top" }, el("span", { className: "floyo-wf-name", textContent: item.name }),
      el("button", { textContent: "Inputs", onclick: () => showInputs(card, item) }),
      el("button", { textContent: "Use", onclick: () => use(item) })),
    el("div", { className: "floyo-wf-meta", textContent: [item.team === false ? "public" : "team", item.id,
      item.version && `version ${item.version}`, item.description].filter(Boolean).join(" · ") }),
    el("div", { className: "floyo-wf-inputs" }));
  return card;
}

function openPicker(node) {
  const search = el("input", { type: "search", placeholder: "Search Floyo workflows", ariaLabel: "Search Floyo workflows" });
  const scope = select("Scope", ["all", "team", "public"]);
  const sort = select("Sort", ["recent", "views", "likes"]);
  const list = el("div", { className: "floyo-picker-list", role: "list" });
  const more = el("button", { textContent: "More", hidden: true });
  const status = el("div", { className: "floyo-wf-meta", role: "status" });
  const back = el("div", { className: "floyo-picker-back" });
  const close = () => back.remove();
  let cursor = null;

  async function load(append) {
    const query = new URLSearchParams({ search: search.value, scope: scope.value, sort: sort.value });
    if (append && cursor) query.set("cursor", cursor);
    status.textContent = "Loading…";
    try {
      const page = await call("GET", `/floyo/workflows?${query}`);
      const use = (item) => { fillNode(node, item, page.fill); close(); };
      const cards = page.items.map((item) => workflowCard(item, use));
      if (append) list.append(...cards); else list.replaceChildren(...cards);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      status.textContent = list.children.length ? "" : "No workflows match.";
    } catch (e) {
      status.textContent = `Could not list Floyo workflows: ${e.message}`;
    }
  }

  search.addEventListener("keydown", (e) => { if (e.key === "Enter") load(false); });
  scope.onchange = sort.onchange = () => load(false);
  more.onclick = () => load(true);
  back.onclick = (e) => { if (e.target === back) close(); };
  back.append(el("div", { className: "floyo-picker", role: "dialog", ariaLabel: "Floyo workflows" },
    el("strong", { textContent: "Floyo workflows" }),
    el("div", { className: "floyo-picker-bar" }, search, scope, sort,
      el("button", { textContent: "Search", onclick: () => load(false) }),
      el("button", { textContent: "Close", onclick: close })),
    status, list, more));
  document.body.append(back);
  search.focus();
  load(false);
}
