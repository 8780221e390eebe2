// Floyo for ComfyUI, frontend: what the other files share: the pack's routes (call), toasts
// (notify), a tiny element builder (el), how FloTime and dollars are written (floTime, dollars) and the one-time confirmation of a Cancel that stops more
// than one run (confirmed, cancelWarning). No listeners: importing it does nothing.
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

// As the node's status line, the runs tab and its header all write them.
export const floTime = (ms) => `FloTime ${((ms ?? 0) / 1000).toFixed(1)}s`;
export const dollars = (v) => `$${Number(v ?? 0).toFixed(2)}`;

export function addStyle(css) {
  document.head.append(el("style", { textContent: css }));
}

// A Cancel that stops more than its one run (every element of a list) or a run this ComfyUI did
// not create asks once: the first click arms it and says what it will stop, a second click within
// CONFIRM_MS sends it. `armed` is the caller's own object, so each button keeps its own state.
const CONFIRM_MS = 10000;
export function confirmed(armed, warning) {
  if (!warning) return true;
  if (armed.at && Date.now() - armed.at < CONFIRM_MS) { armed.at = 0; return true; }
  armed.at = Date.now();
  notify("warn", `${warning} Click Cancel again to confirm.`, CONFIRM_MS);
  return false;
}

// What a Cancel on this live run stops beyond itself, in words (null: just the one run it names).
export function cancelWarning(live) {
  if (!live) return null;
  if (live.list_total > 1) return `This stops all ${live.list_total} runs of this list, not just one.`;
  if (live.created_here === false) return "This run was not started by this ComfyUI (another machine or "
    + "Floyo's web app started it); cancelling stops it on Floyo for everyone.";
  return null;
}
