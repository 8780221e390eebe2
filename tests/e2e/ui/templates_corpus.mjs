// Comfy-Org's workflow templates as a corpus: each is opened in the real frontend the way a user
// opens a file (loadGraphData), given a FloyoRemoteRun in 'current graph' mode with a PreviewImage
// after it, and queued the way the Queue button does (app.queuePrompt), all back to back in one
// browser session. Records, per template, what the frontend sent to /prompt (node ids and their
// class_type, null when it had none) and ComfyUI's answer (prompt id, or the refusal body).
// Env: COMFY_URL, CHROMIUM, TEMPLATES (JSON list of [name, path]).
import fs from "node:fs";
import { withComfy } from "./comfy_page.mjs";

await withComfy(async (page, result) => {
  await page.evaluate(() => {
    const api = window.comfyAPI.api.api, queue = api.queuePrompt.bind(api);
    window.__floyoSent = null;
    api.queuePrompt = async (number, prompt, options) => {  // what the Queue button's path sends
      const sent = { nodes: Object.fromEntries(Object.entries(prompt.output)
        .map(([id, node]) => [id, node.class_type ?? null])) };
      window.__floyoSent = sent;
      try {
        sent.answer = await queue(number, prompt, options);
        return sent.answer;
      } catch (e) {
        sent.refused = e?.response ?? String(e);
        throw e;
      }
    };
  });
  result.templates = [];
  for (const [name, path] of JSON.parse(process.env.TEMPLATES || "[]")) {
    const workflow = JSON.parse(fs.readFileSync(path, "utf8"));
    result.templates.push(await page.evaluate(async ([name, wf]) => {
      const { app, LiteGraph } = window;
      await app.loadGraphData(wf, true, true, name);
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
    }, [name, workflow]));
  }
});
