// The "Floyo runs" sidebar tab in the real frontend: open it from the sidebar, read a finished
// run's card (status, FloTime, outputs), copy its id, Fetch it (its outputs are saved again), then
// queue a slow run and cancel it from its card. Env: SAVED_RUN (a finished run's id), WORKFLOW.
import { withComfy, waitText } from "./comfy_page.mjs";

const card = (id) => `.floyo-run[data-run-id="${id}"]`;

await withComfy(async (page, res) => {
  const saved = process.env.SAVED_RUN;
  const button = page.locator(".floyo-runs-tab-button");
  res.tabButton = await button.count();
  if (res.tabButton) await button.first().click();
  else await page.evaluate(() => window.app.extensionManager.command.execute("Workspace.ToggleSidebarTab.floyo-runs"));
  await page.locator(card(saved)).waitFor({ state: "visible", timeout: 20000 })
    .catch(async (e) => { res.tab = await page.locator(".floyo-runs").innerText().catch(() => null); throw e; });
  res.savedCard = await page.locator(card(saved)).innerText();
  res.savedImages = await page.locator(`${card(saved)} .floyo-run-outputs img`).count();
  await page.locator(`${card(saved)} .floyo-run-copy`).click();
  res.copyToast = await waitText(page, ".p-toast-message", `Copied ${saved}`, 10000);
  await page.locator(`${card(saved)} .floyo-run-fetch`).click();
  res.fetchToast = await waitText(page, ".p-toast-message", "saved in output/floyo/", 30000);

  await page.evaluate((workflow) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    app.graph.add(node);
    node.widgets.find((w) => w.name === "workflow").value = workflow;
    node.widgets.find((w) => w.name === "run_name").value = `runs tab ${Date.now()}`;
    return app.queuePrompt(0, 1);
  }, process.env.WORKFLOW);
  const live = page.locator(".floyo-run:has(.floyo-run-cancel)").first();
  await live.waitFor({ state: "visible", timeout: 30000 });
  res.liveCard = await live.innerText();
  res.liveRunId = await live.getAttribute("data-run-id");
  await live.locator(".floyo-run-cancel").click();
  res.cancelToast = await waitText(page, ".p-toast-message", "Cancel requested for run_", 10000);
  res.cancelled = await waitText(page, ".p-toast-message-success", "Remote run cancel", 30000);
  await page.locator(`${card(res.liveRunId)} .floyo-run-cancel`).waitFor({ state: "detached", timeout: 15000 });
  res.endedCard = await page.locator(card(res.liveRunId)).innerText();
});
