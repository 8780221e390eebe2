// Comfy-Org's workflow templates as a corpus: each is opened in the real frontend the way its
// template browser opens one (loadGraphData under the template's name: frontend 1.58 cannot open
// some templates as an unnamed workflow), given a FloyoRemoteRun in 'current graph' mode with a
// PreviewImage after it, and queued the way the Queue button does (app.queuePrompt), back to back
// in one browser session. The templates are shared between client ComfyUIs (one page each, side by
// side): each pays its runs' requests from its own per-key budget (100/minute). Records, per
// template, what the frontend sent to /prompt (node ids and their class_type, null when it had
// none) and ComfyUI's answer (prompt id, or the refusal body), or why the frontend could not open
// it. Each template is recorded as it ends, so a failure still shows how far the corpus got.
// Env: COMFY_URL, CLIENT_URLS (JSON list, the first is COMFY_URL), CHROMIUM,
// TEMPLATES (JSON list of [name, path, client index]).
import fs from "node:fs";
import { frontendReady, newContext, recordQueuedPrompts, withComfy } from "./comfy_page.mjs";

// dialogs and checks that only inform the user (a missing model is the worker's to report)
const UI_ONLY = { "Comfy.Workflow.ShowMissingModelsWarning": false, "Comfy.Workflow.ShowMissingNodesWarning": false,
  "Comfy.EnableWorkflowViewRestore": false };

async function openClient(url) {
  const context = await newContext();
  const other = await context.newPage();
  await other.addInitScript(() => localStorage.setItem("vueNodesBannerDismissed", "true"));
  await other.goto(url + "/", { waitUntil: "domcontentloaded" });
  await frontendReady(other);
  for (const [id, value] of Object.entries(UI_ONLY)) {
    await other.evaluate(([i, v]) => window.app.extensionManager.setting.set(i, v), [id, value]);
  }
  return other;
}

async function prepare(page) {
  await page.evaluate(() => { window.app.canvas.pause_rendering = true; });  // painting hundreds of graphs is CPU the CI budget lacks
  await recordQueuedPrompts(page);
}

async function openAndQueue(page, name, workflow) {
  return page.evaluate(async ([name, wf]) => {
    const { app, LiteGraph } = window;
    const opened = await app.loadGraphData(wf, true, false, name.split("/").at(-1),
      { showMissingNodesDialog: false, showMissingModelsDialog: false }).then(() => null, (e) => String(e));
    if (opened) return { name, opened };
    const floyo = LiteGraph.createNode("FloyoRemoteRun");
    app.graph.add(floyo);
    floyo.widgets.find((w) => w.name === "source").value = "current graph";
    floyo.widgets.find((w) => w.name === "run_name").value = `corpus ${name}`;
    const preview = LiteGraph.createNode("PreviewImage");
    app.graph.add(preview);
    floyo.connect(0, preview, 0);
    window.__floyoSent = null;
    const queued = await app.queuePrompt(0, 1).catch((e) => String(e));
    return { name, floyo: String(floyo.id), queued, ...window.__floyoSent };
  }, [name, workflow]);
}

await withComfy(async (page, result) => {
  const urls = JSON.parse(process.env.CLIENT_URLS || "[]");
  const pages = [page, ...await Promise.all(urls.slice(1).map((url) => openClient(url)))];
  await Promise.all(pages.map(prepare));
  const templates = JSON.parse(process.env.TEMPLATES || "[]");
  result.templates = [];
  await Promise.all(pages.map(async (p, index) => {
    for (const [name, path, client] of templates) {
      if (client !== index) continue;
      result.templates.push({ client, ...await openAndQueue(p, name, JSON.parse(fs.readFileSync(path, "utf8"))) });
    }
  }));
}, { settings: UI_ONLY });
