// A FloyoRemoteRun node in the real frontend: its Cancel button and status line before, during
// and after a slow scripted run, then a real click on Cancel and the outcome toast.
// Env: WORKFLOW (API-format JSON for the node), RENDERER ("canvas" or "vue"), SHOT (png path, optional).
import { toastSeverity, waitText, waitToast, withComfy } from "./comfy_page.mjs";

const VUE = process.env.RENDERER === "vue";
const CANCEL = "Cancel Floyo run";

function nodeState(page) {
  return page.evaluate((name) => {
    const node = window.app.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun");
    const button = node?.widgets?.find((w) => w.name === name);
    return { status: node?.floyoStatus?.textContent ?? null, buttonDisabled: button ? !!button.disabled : null,
      // ComfyUI's own progress-text line, which would be a second status on the node
      progressText: !!node?.widgets?.some((w) => w.name === "$$node-text-preview") };
  }, CANCEL);
}

// The Vue node's button, by its accessible name (frontend 1.32 gives it as aria-label, later ones
// as the button's text); a click waits until it is enabled.
const vueButton = (page) => page.getByRole("button", { name: CANCEL, exact: true });

async function clickCancel(page) {
  if (VUE) return vueButton(page).click();
  const [x, y] = await page.evaluate((name) => {
    const { app } = window;
    const node = app.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun");
    const button = node.widgets.find((w) => w.name === name);
    const [cx, cy] = app.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + button.y + 10]);
    const rect = app.canvas.canvas.getBoundingClientRect();
    return [rect.left + cx, rect.top + cy];
  }, CANCEL);
  await page.mouse.click(x, y);
}

async function shootNode(page, path) {
  const clip = await page.evaluate(() => {
    const { app, LiteGraph } = window;
    const node = app.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun");
    const rect = app.canvas.canvas.getBoundingClientRect();
    const [x0, y0] = app.canvas.ds.convertOffsetToCanvas([node.pos[0], node.pos[1] - LiteGraph.NODE_TITLE_HEIGHT]);
    const [x1, y1] = app.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0], node.pos[1] + node.size[1]]);
    return { x: rect.left + x0 - 20, y: rect.top + y0 - 20, width: x1 - x0 + 40, height: y1 - y0 + 40 };
  });
  await page.screenshot({ path, clip: VUE ? undefined : clip });
}

await withComfy(async (page, res) => {
  Object.assign(res, await page.evaluate((workflow) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    node.pos = [260, 160];
    app.graph.add(node);
    node.size = [560, node.size[1]];
    node.widgets.find((w) => w.name === "workflow").value = workflow;
    app.canvas.ds.offset = [0, 0];
    app.canvas.ds.scale = 1;
    app.canvas.setDirty(true, true);
    const api = window.comfyAPI.api.api;
    window.__floyoEvents = [];
    api.addEventListener("floyo.run", (e) => window.__floyoEvents.push(e.detail));
    return { widgets: node.widgets.map((w) => `${w.type}:${w.name}`),
      serialized: node.widgets.filter((w) => w.serialize !== false).map((w) => w.name) };
  }, process.env.WORKFLOW));
  await page.waitForTimeout(300);
  res.before = await nodeState(page);
  // idle: greyed out on the canvas (clicks never reach it) and on the Vue nodes of frontends that
  // follow the widget's `disabled`; where Vue nodes froze it (1.32) a real click is inert and says so.
  // Either way the button's action itself is inert and says so.
  if (VUE) res.idleVueDisabled = await vueButton(page).isDisabled();
  if (VUE && !res.idleVueDisabled) await vueButton(page).click();
  else await page.evaluate((name) => window.app.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun")
    .widgets.find((w) => w.name === name).callback(), CANCEL);
  res.idleToast = await waitToast(page, "no Floyo run in progress", 5000);
  res.idleStatus = (await nodeState(page)).status;
  await page.evaluate(() => window.app.queuePrompt(0, 1));
  res.queued = await waitText(page, ".floyo-status", "^Floyo: queued", 30000);
  res.processing = await waitText(page, ".floyo-status", "^Floyo: processing", 30000);
  await page.waitForTimeout(1200); // let the elapsed counter tick once
  res.during = await nodeState(page);
  if (VUE) res.duringVueDisabled = await vueButton(page).isDisabled();
  if (process.env.SHOT) await shootNode(page, process.env.SHOT);
  await clickCancel(page);
  res.toast = await waitToast(page, "Remote run cancel", 30000); // confirmed
  res.toastSeverity = await toastSeverity(page, "Remote run cancel");
  res.ended = await waitText(page, ".floyo-status", "\\(ended\\)$", 15000);
  res.after = await nodeState(page);
  res.events = await page.evaluate(() => window.__floyoEvents);
}, { settings: { "Comfy.VueNodes.Enabled": VUE } }); // settings persist server-side: always set it
