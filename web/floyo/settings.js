// Floyo for ComfyUI, frontend: the API-key row of the settings panel. The key only ever goes to the
// write-only POST /floyo/key: it is never a setting value, because ComfyUI stores settings in plain
// text and serves them at GET /api/settings.
import { addStyle, call } from "./api.js";

addStyle(".floyo-key{display:flex;gap:6px;align-items:center;flex-wrap:wrap}");

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

export const SETTINGS = [{
  id: "Floyo.ApiKey.Setup", category: ["Floyo", "API key", "Setup"], name: "Floyo API key", defaultValue: "",
  tooltip: "Sent to this ComfyUI server and kept in a 0600 key file in its user folder; never stored as a setting.",
  type: () => keyPanel(), // a custom row: the setting's own value is never written
}];
