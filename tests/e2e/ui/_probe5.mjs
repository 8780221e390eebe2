import fs from "node:fs";
import { withComfy } from "./comfy_page.mjs";
const UI_ONLY = { "Comfy.Workflow.ShowMissingModelsWarning": false, "Comfy.Workflow.ShowMissingNodesWarning": false,
  "Comfy.EnableWorkflowViewRestore": false };
await withComfy(async (page, res) => {
  await page.evaluate(() => { window.app.canvas.pause_rendering = true; });
  res.failed = []; res.times = [];
  for (const [name, path] of JSON.parse(fs.readFileSync(process.env.LIST, "utf8"))) {
    const t0 = Date.now();
    const err = await page.evaluate(async (wf) => {
      try { await window.app.loadGraphData(wf, true, false, null, { showMissingNodesDialog: false, showMissingModelsDialog: false }); return null; }
      catch (e) { return String(e).slice(0, 200); }
    }, JSON.parse(fs.readFileSync(path, "utf8")));
    res.times.push([name, Date.now() - t0]);
    if (err) res.failed.push([name, err]);
  }
}, { settings: UI_ONLY });
