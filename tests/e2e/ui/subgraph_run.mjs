// A FloyoRemoteRun node inside a subgraph that is itself inside a subgraph (execution id "a:b:c"):
// the status line shows the live run when the user opens the subgraph, and a real click on the
// node's Cancel button cancels the Floyo run. Env: WORKFLOW (API-format JSON for the node).
import { toastSeverity, waitText, waitToast, withComfy } from "./comfy_page.mjs";

const CANCEL = "Cancel Floyo run";

await withComfy(async (page, res) => {
  Object.assign(res, await page.evaluate((workflow) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    node.pos = [200, 150];
    app.graph.add(node);
    node.size = [560, node.size[1]];
    node.widgets.find((w) => w.name === "workflow").value = workflow;
    const inner = app.graph.convertToSubgraph(new Set([node]));
    const outer = app.graph.convertToSubgraph(new Set([inner.node]));
    window.__floyo = { inner, outer };
    // converting to a subgraph moves a copy of the node inside: the one on the open canvas is it
    window.__floyoShown = () => app.canvas.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun");
    const api = window.comfyAPI.api.api;
    window.__floyoEvents = [];
    api.addEventListener("floyo.run", (e) => window.__floyoEvents.push(e.detail));
    return { path: [outer.node.id, inner.node.id, node.id].map(String),
      rootTypes: app.graph._nodes.map((n) => n.type) };
  }, process.env.WORKFLOW));
  const { output } = await page.evaluate(() => window.app.graphToPrompt());
  res.promptIds = Object.keys(output);
  await page.evaluate(() => window.app.queuePrompt(0, 1));
  // the user opens the subgraphs to look at the node
  await page.evaluate(() => {
    const { app } = window, { inner, outer } = window.__floyo;
    app.canvas.openSubgraph(outer.subgraph, outer.node);
    app.canvas.openSubgraph(inner.subgraph, inner.node);
    app.canvas.ds.offset = [0, 0];
    app.canvas.ds.scale = 1;
    app.canvas.setDirty(true, true);
  });
  res.processing = await waitText(page, ".floyo-status", "^Floyo: processing", 30000);
  // the elapsed time counts between events (waited for, not slept on: a loaded CI box is slow)
  await page.waitForFunction((first) => window.__floyoShown().floyoStatus.textContent !== first,
    res.processing, { timeout: 10000 }).catch(() => {});
  res.later = await page.evaluate(() => window.__floyoShown().floyoStatus.textContent);
  const [x, y] = await page.evaluate((name) => {
    const { app } = window, node = window.__floyoShown();
    const button = node.widgets.find((w) => w.name === name);
    const [cx, cy] = app.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + button.y + 10]);
    const rect = app.canvas.canvas.getBoundingClientRect();
    return [rect.left + cx, rect.top + cy];
  }, CANCEL);
  await page.mouse.click(x, y);
  res.toast = await waitToast(page, "Remote run cancel", 30000);
  res.toastSeverity = await toastSeverity(page, "Remote run cancel");
  res.ended = await waitText(page, ".floyo-status", "\\(ended\\)$", 15000);
  res.events = await page.evaluate(() => window.__floyoEvents);
});
