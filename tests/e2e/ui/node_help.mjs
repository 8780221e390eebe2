// Help where users look, in the real frontend: the node's help page (the selection toolbox's info
// button opens the pack's web/docs/<node>.md in the sidebar), the Int override's "control after
// generate" widget changing the value it queues, and the node definitions the search box indexes.
// Env: COMFY_URL, CHROMIUM.
import { withComfy, waitText } from "./comfy_page.mjs";

await withComfy(async (page, res) => {
  const [x, y] = await page.evaluate(() => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    node.pos = [300, 250];
    app.graph.add(node);
    app.canvas.ds.offset = [0, 0];
    app.canvas.ds.scale = 1;
    app.canvas.setDirty(true, true);
    const rect = app.canvas.canvas.getBoundingClientRect();
    return [rect.left + node.pos[0] + 60, rect.top + node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT / 2];
  });
  await page.waitForTimeout(300);
  await page.mouse.click(x, y); // a real click on the title selects the node; the toolbox appears
  await page.locator('[data-testid="info-button"]').first().click();
  res.help = await waitText(page, "body *", "^Floyo Remote Run[\\s\\S]*Example", 20000)
    .then(() => page.evaluate(() => [...document.querySelectorAll("h1, h2")].map((h) => h.textContent.trim())));

  Object.assign(res, await page.evaluate(async () => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoOverrideInt");
    app.graph.add(node);
    const widgets = node.widgets.map((w) => ({ name: w.name, value: w.value, options: w.options?.values ?? null }));
    const seeds = [];
    for (let i = 0; i < 3; i++) {
      const { output } = await app.graphToPrompt();
      seeds.push(Object.values(output)[0].inputs.value);
      // what ComfyUI's frontend does after each queue: apply "control after generate"
      for (const w of node.widgets) w.afterQueued?.();
    }
    const defs = await window.comfyAPI.api.api.getNodeDefs();
    const floyo = Object.values(defs).filter((d) => d.name.startsWith("Floyo"));
    return { intWidgets: widgets, seeds,
      defs: floyo.map((d) => ({ name: d.name, category: d.category, search_aliases: d.search_aliases ?? null })) };
  }));
});
