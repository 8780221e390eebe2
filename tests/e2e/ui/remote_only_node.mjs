// A node only the cloud has, through the real frontend on both machines. On the worker (where
// RemoteOnlyTint is installed) a user builds EmptyImage -> RemoteOnlyTint -> SaveImage and the
// frontend serializes it (every widget input named). On the client (without the node) the user
// opens that workflow, adds a current-graph FloyoRemoteRun with a PreviewImage, and queues it the
// way the Queue button does; then the same workflow as an older frontend saved it (widget values
// without input names), which must be refused. Env: COMFY_URL (client), WORKER_URL, CHROMIUM.
import { newContext, recordQueuedPrompts, withComfy } from "./comfy_page.mjs";

async function savedOnWorker() {
  const context = await newContext();
  const worker = await context.newPage();
  await worker.goto(process.env.WORKER_URL + "/", { waitUntil: "domcontentloaded" });
  await worker.waitForFunction(() => window.app?.graph && window.LiteGraph?.registered_node_types?.RemoteOnlyTint,
    null, { timeout: 60000 });
  const saved = await worker.evaluate(() => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const make = (type, x, values) => {
      const node = LiteGraph.createNode(type);
      node.pos = [x, 100];
      app.graph.add(node);
      for (const [name, value] of Object.entries(values)) node.widgets.find((w) => w.name === name).value = value;
      return node;
    };
    const empty = make("EmptyImage", 0, { width: 32, height: 32, color: 0x202020 });
    const tint = make("RemoteOnlyTint", 300, { seed: 5, amount: 200, mode: "add" });
    const save = make("SaveImage", 600, { filename_prefix: "remote_only" });
    empty.connect(0, tint, 0);
    tint.connect(0, save, 0);
    return app.graph.serialize();
  });
  await context.close();
  return saved;
}

await withComfy(async (page, result) => {
  const saved = await savedOnWorker();
  const older = structuredClone(saved);  // as a frontend that did not name widget inputs saved it
  const tint = older.nodes.find((n) => n.type === "RemoteOnlyTint");
  tint.inputs = tint.inputs.filter((i) => !i.widget);
  result.savedTint = saved.nodes.find((n) => n.type === "RemoteOnlyTint");
  result.runs = [];
  await recordQueuedPrompts(page);
  for (const [name, workflow] of [["named", saved], ["older", older]]) {
    result.runs.push(await page.evaluate(async ([name, wf]) => {
      const { app, LiteGraph } = window;
      await app.loadGraphData(wf, true, true, name);
      const floyo = LiteGraph.createNode("FloyoRemoteRun");
      app.graph.add(floyo);
      floyo.widgets.find((w) => w.name === "source").value = "current graph";
      floyo.widgets.find((w) => w.name === "run_name").value = `remote only ${name} ${Date.now()}`;
      const preview = LiteGraph.createNode("PreviewImage");
      app.graph.add(preview);
      floyo.connect(0, preview, 0);
      window.__floyoSent = null;
      await app.queuePrompt(0, 1);
      return { name, floyo: String(floyo.id), preview: String(preview.id), ...window.__floyoSent };
    }, [name, workflow]));
  }
});
