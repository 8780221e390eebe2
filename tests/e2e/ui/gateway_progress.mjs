// The worker's live step on the client's node (issue #25, item 5): the user queues a Floyo Remote
// Run whose embedded workflow holds a stepping node titled "Sampler" (env WORKFLOW: its API-format
// JSON), and the node's status line shows "Sampler n/12" while the worker runs it. The status texts
// seen are sampled every 100 ms until the run ends. Env: COMFY_URL, CHROMIUM, WORKFLOW.
import { withComfy } from "./comfy_page.mjs";

await withComfy(async (page, result) => {
  result.node = await page.evaluate(async (workflow) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const floyo = LiteGraph.createNode("FloyoRemoteRun");
    floyo.pos = [100, 100];
    app.graph.add(floyo);
    const set = (name, value) => { floyo.widgets.find((w) => w.name === name).value = value; };
    set("workflow", workflow);
    set("run_name", `progress ${Date.now()}`);
    set("reuse", "always run");
    const preview = LiteGraph.createNode("PreviewImage");
    preview.pos = [floyo.pos[0] + floyo.size[0] + 40, 100];
    app.graph.add(preview);
    floyo.connect(0, preview, 0);
    // in view, as a user watching it has it: frontends show a node's DOM widgets (the status
    // line) only while the node is on screen
    app.canvas.ds.offset = [0, 0];
    app.canvas.ds.scale = 1;
    app.canvas.setDirty(true, true);
    window.__floyoEvents = [];
    window.comfyAPI.api.api.addEventListener("floyo.run", (e) => window.__floyoEvents.push(e.detail.status));
    await app.queuePrompt(0, 1);
    return String(floyo.id);
  }, process.env.WORKFLOW);
  result.texts = [];
  const end = Date.now() + 60000;
  while (Date.now() < end) {
    // the status line as drawn (the one Floyo node's), whichever renderer draws it
    const text = await page.evaluate(() => document.querySelector(".floyo-status")?.textContent ?? "");
    if (text !== result.texts.at(-1)) result.texts.push(text);
    if (/\(ended\)|saved/.test(text)) break;
    await page.waitForTimeout(100);
  }
  result.events = await page.evaluate(() => window.__floyoEvents);
});
