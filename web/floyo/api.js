// Floyo for ComfyUI, frontend: what the other files share: the pack's routes (call), toasts
// (notify) and a tiny element builder (el). No state, no listeners: importing it does nothing.
import { app } from "../../../scripts/app.js";
import { api } from "../../../scripts/api.js";

export function notify(severity, detail, life = 10000) {
  const toast = app.extensionManager?.toast;
  if (toast?.add) toast.add({ severity, summary: "Floyo", detail, life });
  else console.warn(`Floyo: ${detail}`);
}

export async function call(method, path, body) {
  const res = await api.fetchApi(path, { method, headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
  return data;
}

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c != null));
  return node;
}

export function addStyle(css) {
  document.head.append(el("style", { textContent: css }));
}
