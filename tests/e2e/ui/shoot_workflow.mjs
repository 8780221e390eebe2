// Builds or opens a workflow in the real ComfyUI frontend and photographs it: how the example
// thumbnails (example_workflows/*.jpg) and the README's demo screenshot (docs/images/) are made.
// SPEC: a JSON file {nodes: [{id, type, title, pos, size, widgets: {name: value}}],
//   links: [[from id, output name, to id, input name]], view: {scale, offset}} built node by node
//   with the frontend's own LiteGraph (so the saved file is what the frontend itself saves), or
// WORKFLOW: a UI-format file to open as a user would. RUN=1 queues it (the Run button's prompt) and
// waits for every output node to show its result. Writes SAVE (the frontend's serialized graph)
// and SHOT (a PNG of the canvas). Env: COMFY_URL, CHROMIUM, SPEC | WORKFLOW, SAVE, SHOT, RUN.
import { readFileSync, writeFileSync } from "node:fs";
import { withComfy } from "./comfy_page.mjs";

const spec = process.env.SPEC ? JSON.parse(readFileSync(process.env.SPEC, "utf8")) : null;
const workflow = process.env.WORKFLOW ? JSON.parse(readFileSync(process.env.WORKFLOW, "utf8")) : null;

await withComfy(async (page, result) => {
  const [width, height] = (process.env.VIEWPORT || "1280x800").split("x").map(Number);
  await page.setViewportSize({ width, height });
  result.graph = await page.evaluate(async ([spec, workflow]) => {
    const { app, LiteGraph } = window;
    if (workflow) {
      await app.loadGraphData(workflow);
    } else {
      await app.loadGraphData({ last_node_id: 0, last_link_id: 0, nodes: [], links: [], groups: [], config: {},
        extra: {}, version: 0.4 });
      for (const s of spec.nodes) {
        const node = LiteGraph.createNode(s.type);
        if (!node) throw new Error(`unknown node type ${s.type}`);
        node.id = s.id;
        app.graph.add(node);
        node.pos = s.pos;
        if (s.title) node.title = s.title;
        for (const [name, value] of Object.entries(s.widgets || {})) {
          const widget = node.widgets?.find((w) => w.name === name);
          if (!widget) throw new Error(`${s.type} has no widget ${name}`);
          widget.value = value;
        }
        if (s.size) node.size = s.size;
      }
      for (const [from, output, to, input] of spec.links) {
        const a = app.graph.getNodeById(from), b = app.graph.getNodeById(to);
        const slot = a.outputs.findIndex((o) => o.name === output);
        const target = b.inputs.findIndex((i) => i.name === input);
        if (slot < 0 || target < 0) throw new Error(`no link ${from}.${output} -> ${to}.${input}`);
        a.connect(slot, b, target);
      }
    }
    const view = spec?.view || workflow?.extra?.ds;
    if (view) {
      app.canvas.ds.scale = view.scale;
      app.canvas.ds.offset = view.offset;
    }
    app.graph.setDirtyCanvas(true, true);
    const saved = app.graph.serialize();
    saved.extra = { ...(saved.extra || {}), ds: { scale: app.canvas.ds.scale, offset: [...app.canvas.ds.offset] } };
    return saved;
  }, [spec, workflow]);
  if (process.env.RUN === "1") {
    // the Run button's way, so the page gets the "executed" messages and shows the previews
    result.status = await page.evaluate(async () => {
      const known = Object.keys(await (await fetch("/api/history")).json());
      await window.app.queuePrompt(0, 1);
      for (let i = 0; i < 1200; i++) { // at most 10 minutes
        const history = await (await fetch("/api/history")).json();
        const fresh = Object.keys(history).filter((id) => !known.includes(id));
        const done = fresh.map((id) => history[id].status).find((st) => st?.completed !== undefined);
        if (done) return done.status_str;
        await new Promise((r) => setTimeout(r, 500));
      }
      return "timeout";
    });
    await page.waitForTimeout(2500); // the previews load and draw
  }
  // only the graph in the picture: focus mode hides the menus and tabs, and no minimap or stats
  const box = await page.evaluate(async (view) => {
    const { app } = window;
    await app.extensionManager.setting.set("Comfy.Minimap.Visible", false);
    await app.extensionManager.command.execute("Workspace.ToggleFocusMode");
    app.canvas.show_info = false;
    if (view) {
      app.canvas.ds.scale = view.scale;
      app.canvas.ds.offset = view.offset;
    }
    app.graph.setDirtyCanvas(true, true);
    // the nodes' bounds on screen (title bar included), so the picture is the graph and its margin
    const { scale, offset } = app.canvas.ds;
    const rects = app.graph._nodes.map((n) => [n.pos[0], n.pos[1] - 30, n.pos[0] + n.size[0], n.pos[1] + n.size[1]]);
    const [x0, y0] = [Math.min(...rects.map((r) => r[0])), Math.min(...rects.map((r) => r[1]))];
    const [x1, y1] = [Math.max(...rects.map((r) => r[2])), Math.max(...rects.map((r) => r[3]))];
    return { x: (x0 + offset[0]) * scale, y: (y0 + offset[1]) * scale,
      width: (x1 - x0) * scale, height: (y1 - y0) * scale };
  }, spec?.view || workflow?.extra?.ds || null);
  await page.waitForTimeout(800);
  const margin = 24;
  const clip = { x: Math.max(0, box.x - margin), y: Math.max(0, box.y - margin) };
  clip.width = Math.min(width - clip.x, box.width + 2 * margin);
  clip.height = Math.min(height - clip.y, box.height + 2 * margin);
  if (process.env.SAVE) writeFileSync(process.env.SAVE, JSON.stringify(result.graph, null, 2) + "\n");
  if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT, clip });
  delete result.graph;
});
