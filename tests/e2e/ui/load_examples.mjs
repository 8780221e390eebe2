// Opens each example workflow in the real ComfyUI frontend the way a user does (loadGraphData, as
// for a dropped or opened file) and records what the UI makes of it: node types, missing types,
// and the API prompt its Run button would queue (after giving the run a fresh name). Env: COMFY_URL, CHROMIUM, EXAMPLES (JSON list).
import { withComfy } from "./comfy_page.mjs";

await withComfy(async (page, result) => {
  result.examples = [];
  for (const workflow of JSON.parse(process.env.EXAMPLES || "[]")) {
    result.examples.push(await page.evaluate(async (wf) => {
      const { app, LiteGraph } = window;
      await app.loadGraphData(wf);
      const nodes = app.graph._nodes;
      const missing = nodes.filter((n) => !LiteGraph.registered_node_types[n.type]).map((n) => n.type);
      // a fresh run name, as a user would type, so ComfyUI's cache cannot answer for an earlier run
      for (const n of nodes) {
        const w = n.widgets?.find((x) => x.name === "run_name");
        if (w) w.value = `${w.value} ${Date.now()}`;
      }
      const prompt = await app.graphToPrompt();
      return { types: nodes.map((n) => n.type), missing, output: prompt.output };
    }, workflow));
  }
});
