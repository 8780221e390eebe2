// Floyo for ComfyUI, frontend entry: the one file that registers with ComfyUI. What it wires lives
// beside it in web/floyo/: node_status.js (the run nodes' Cancel button and status line),
// runs_tab.js (the "Floyo runs" sidebar tab), settings.js (the API-key row), workflow_picker.js
// (the "Pick Floyo workflow…" button and dialog), spend.js (balance, budgets, estimates) and api.js
// (what they share). Those only export: ComfyUI loads every .js under web/, so they must do nothing
// on import but define (and add their styles).
import { app } from "../../scripts/app.js";
import { addRunWidgets, listen, RUN_NODES } from "./floyo/node_status.js";
import { followRuns, RUNS_TAB } from "./floyo/runs_tab.js";
import { SETTINGS } from "./floyo/settings.js";
import { addPickButton, hasPicker } from "./floyo/workflow_picker.js";
import { afterGraphLoaded, listenSpend, SPEND_SETTINGS } from "./floyo/spend.js";

app.registerExtension({
  name: "floyo.RunControls",
  settings: [...SETTINGS, ...SPEND_SETTINGS],
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
    listen();
    listenSpend();
  },
  afterConfigureGraph: afterGraphLoaded, // a loaded graph's Floyo nodes show their estimate
});

app.registerExtension({
  name: "floyo.RunsTab",
  setup() {
    app.extensionManager?.registerSidebarTab?.(RUNS_TAB);
    followRuns();
  },
});

app.registerExtension({
  name: "floyo.WorkflowPicker",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!hasPicker(nodeData)) return;
    const original = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function () {
      const r = original?.apply(this, arguments);
      addPickButton(this);
      return r;
    };
  },
});
