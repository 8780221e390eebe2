// After kill -9 and a restart, the run the restart resumed is live in the runs tab with a Cancel
// (its watcher sends no events: the tab and the node read GET /floyo/active), and the node that
// started it shows it; the tab's Cancel stops it on Floyo. Env: RUN_ID, NODE_ID (the execution id
// of the node that created it).
import { openRunsTab, waitText, waitToast, withComfy } from "./comfy_page.mjs";

const card = (page, id) => page.locator(`.floyo-run[data-run-id="${id}"]`);
const button = (scope, name) => scope.getByRole("button", { name, exact: true });

await withComfy(async (page, res) => {
  const id = process.env.RUN_ID;
  await page.evaluate((nodeId) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    node.id = Number(nodeId);
    app.graph.add(node);
  }, process.env.NODE_ID);
  res.nodeStatus = await waitText(page, ".floyo-status", `${id}`, 10000);
  await openRunsTab(page);
  const cancel = button(card(page, id), "Cancel");
  await cancel.waitFor({ state: "visible", timeout: 15000 })
    .catch(async (e) => { res.tab = await page.locator(".floyo-runs").innerText().catch(() => null); throw e; });
  res.liveCard = await card(page, id).innerText();
  await cancel.click();
  res.cancelToast = await waitToast(page, `Cancel requested for ${id}`, 10000);
  await cancel.waitFor({ state: "detached", timeout: 30000 });
  await page.waitForFunction((run) => document.querySelector(`.floyo-run[data-run-id="${run}"]`)?.dataset.state
    === "cancelled", id, { timeout: 20000, polling: 200 });
  res.endedCard = await card(page, id).innerText();
  res.endedDetail = await card(page, id).locator(".floyo-run-detail").innerText(); // why it ended, shown
  res.totals = await page.locator(".floyo-runs-totals").innerText();
  res.nodeEnded = await waitText(page, ".floyo-status", "\\(ended\\)$", 10000);
});
