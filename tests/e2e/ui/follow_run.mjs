// A node's run follows the node, not the page: queue a slow run, reload the page mid-run, and the
// node shows its live status again (from GET /floyo/active: the new page heard no event of the
// prompt, only ComfyUI's re-sent "executing"); a second browser that opens the same workflow
// shows it too, within ~2 s; a real click on the node's Cancel in the reloaded page cancels the
// Floyo run. Env: WORKFLOW (API-format JSON for the node).
import { clickNodeButton, frontendReady, newContext, waitText, waitToast, withComfy } from "./comfy_page.mjs";

const CANCEL = "Cancel Floyo run";
const RUN_NODE = "FloyoRemoteRun";

// The workflow the user had open: restored by the frontend on reload, else opened again by hand.
async function reopen(page, saved) {
  const restored = await page.waitForFunction((type) => window.app.graph._nodes.some((n) => n.comfyClass === type),
    RUN_NODE, { timeout: 5000 }).then(() => true, () => false);
  if (!restored) await page.evaluate((g) => window.app.loadGraphData(JSON.parse(g)), saved);
  return restored;
}

const buttonState = (page) => page.evaluate(([type, name]) => {
  const node = window.app.graph._nodes.find((n) => n.comfyClass === type);
  return { disabled: !!node?.widgets?.find((w) => w.name === name)?.disabled, status: node?.floyoStatus?.textContent };
}, [RUN_NODE, CANCEL]);

// What the page had when a status line did not come: the nodes of its graph, their status lines,
// and what the server's /floyo/active said then (for a failure's RESULT).
const seen = (page) => page.evaluate(async () => ({
  nodes: window.app.graph._nodes.map((n) => [n.id, n.comfyClass, n.floyoStatus?.textContent ?? null]),
  active: await fetch("/api/floyo/active").then((r) => r.json(), (e) => String(e)),
}));

// Close the page's websocket; the frontend opens it again with the same client id. Returns the
// node id of the first "executing" the page then hears (ComfyUI's re-send), or null after 10 s.
const resendRunningNode = (page) => page.evaluate(async () => {
  const { api } = window.comfyAPI.api;
  const heard = new Promise((resolve) => api.addEventListener("executing",
    ({ detail }) => resolve(String(detail?.node ?? detail)), { once: true }));
  api.socket.close();
  return Promise.race([heard, new Promise((resolve) => setTimeout(() => resolve(null), 10000))]);
});

await withComfy(async (page, res) => {
  await page.evaluate(([workflow, type]) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode(type);
    node.pos = [260, 160];
    app.graph.add(node);
    node.size = [560, node.size[1]];
    node.widgets.find((w) => w.name === "workflow").value = workflow;
    node.widgets.find((w) => w.name === "run_name").value = `follow ${Date.now()}`;
    return app.queuePrompt(0, 1);
  }, [process.env.WORKFLOW, RUN_NODE]);
  res.beforeReload = await waitText(page, ".floyo-status", "^Floyo: processing", 30000)
    .catch(async (e) => { res.whenNotShown = await seen(page); throw e; });
  const saved = await page.evaluate(() => JSON.stringify(window.app.graph.serialize()));

  // Reload with the page's reads of /floyo/active held back 4 s, and make its websocket return
  // once the workflow is open: ComfyUI then re-sends the running node to this page (same client
  // id) before the page knows the run. The line must still come to show the run, from the server.
  await page.route("**/api/floyo/active", async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await route.continue().catch(() => {}); // the page may be gone by then
  });
  await page.reload({ waitUntil: "domcontentloaded" });
  await frontendReady(page);
  res.restored = await reopen(page, saved);
  res.resent = await resendRunningNode(page);
  res.afterReload = await waitText(page, ".floyo-status", "^Floyo: processing", 10000)
    .catch(async (e) => { res.whenNotShown = await seen(page); throw e; });
  await page.unroute("**/api/floyo/active");
  res.afterReloadButton = await buttonState(page);

  // a second browser (a context of its own: no storage shared), which never queued anything, with
  // the same workflow opened in it
  const second = await (await newContext()).newPage();
  await second.goto(page.url(), { waitUntil: "domcontentloaded" });
  await frontendReady(second);
  res.secondRestored = await reopen(second, saved);
  const t0 = Date.now();
  res.secondPage = await waitText(second, ".floyo-status", "^Floyo: processing", 10000)
    .catch(async (e) => { res.whenNotShown = await seen(second); throw e; });
  res.followedMs = Date.now() - t0;
  await second.close();

  await clickNodeButton(page, RUN_NODE, CANCEL);
  res.toast = await waitToast(page, "Remote run cancel", 30000);
  res.ended = await waitText(page, ".floyo-status", "\\(ended\\)$", 15000);
  res.afterCancelButton = await buttonState(page);
}, { settings: { "Comfy.VueNodes.Enabled": false } });
