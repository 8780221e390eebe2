// Opens each example workflow in the real ComfyUI frontend the way a user does (loadGraphData, as
// for a dropped or opened file) and records what the UI makes of it: node types, missing types,
// the "control after generate" mode of each node that has one, and the API prompt its Run button
// would queue (after giving the run a fresh name, and a fetch node the run id a user would paste).
// Env: COMFY_URL, CHROMIUM, EXAMPLES (JSON list), RUN_ID.
import { withComfy } from "./comfy_page.mjs";

await withComfy(async (page, result) => {
  result.examples = [];
  for (const workflow of JSON.parse(process.env.EXAMPLES || "[]")) {
    result.examples.push(await page.evaluate(async ([wf, runId]) => {
      const { app, LiteGraph } = window;
      await app.loadGraphData(wf);
      const nodes = app.graph._nodes;
      const missing = nodes.filter((n) => !LiteGraph.registered_node_types[n.type]).map((n) => n.type);
      // a fresh run name, as a user would type, so ComfyUI's cache cannot answer for an earlier run
      const controls = {};
      for (const n of nodes) {
        const w = n.widgets?.find((x) => x.name === "run_name");
        if (w) w.value = `${w.value} ${Date.now()}`;
        const id = n.widgets?.find((x) => x.name === "run_id");
        if (id && n.type === "FloyoFetchOutputs") id.value = runId;
        const control = n.widgets?.find((x) => x.name === "control_after_generate");
        if (control) controls[n.type] = control.value;
      }
      const prompt = await app.graphToPrompt();
      return { types: nodes.map((n) => n.type), missing, controls, output: prompt.output };
    }, [workflow, process.env.RUN_ID || ""]));
  }
});
