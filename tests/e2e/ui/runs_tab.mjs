// The "Floyo runs" sidebar tab in the real frontend: open it from the sidebar, read a finished
// run's card (status, FloTime, outputs), copy its id (also with a press a refresh interrupts),
// Fetch it (its outputs are saved again), then queue a slow run (its card pushes the saved one
// down, which takes no click as it moves) and cancel it from its card.
// Env: SAVED_RUN (a finished run's id), WORKFLOW.
// The sidebar button and the cards' buttons are found by their accessible names, toasts by role.
import { toastSeverity, waitToast, withComfy } from "./comfy_page.mjs";

const card = (page, id) => page.locator(`.floyo-run[data-run-id="${id}"]`);
const button = (scope, name) => scope.getByRole("button", { name, exact: true });

const copies = (page) => page.evaluate(() => window.__floyoToasts.filter((t) => t.detail.startsWith("Copied")).length);

// A real press on `target` that a refresh of the tab interrupts: mouse down, the tab refreshes
// (its Refresh button, as a run event would) and draws, mouse up. Returns whether it clicked.
async function pressAcrossRefresh(page, target) {
  const before = await copies(page);
  const box = await target.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.evaluate(() => {
    document.querySelector(".floyo-runs-totals").dataset.drawn = "before";
    document.querySelector(".floyo-runs-refresh").click();
  });
  await page.waitForFunction(() => !document.querySelector(".floyo-runs-totals").dataset.drawn, null, { timeout: 10000 });
  await page.mouse.up();
  return page.waitForFunction((n) => window.__floyoToasts.filter((t) => t.detail.startsWith("Copied")).length > n,
    before, { timeout: 3000 }).then(() => true, () => false);
}

// Waits, in the page, for the card of run `id` to move (as a new run's card is put above it) and
// clicks its Fetch at once, in the same task that moved it: no round trip through Playwright
// could reliably land within the ~600 ms such a card holds its buttons. Resolves to whether the
// button was disabled and whether a fetch started (its "Fetching…"), or null if it never moved.
async function clickFetchAsItMoves(page, id) {
  await page.evaluate((runId) => {
    const list = document.querySelector(".floyo-runs-list");
    const find = () => list.querySelector(`.floyo-run[data-run-id="${runId}"]`);
    const top = find().offsetTop;
    window.__floyoMoved = new Promise((resolve) => {
      const watch = new MutationObserver(() => {
        const card = find();
        if (!card || card.offsetTop === top) return;
        watch.disconnect();
        const fetch = card.querySelector(".floyo-run-fetch");
        const disabled = fetch.disabled;
        fetch.click();
        resolve({ disabled, fetchStarted: fetch.textContent === "Fetching…" });
      });
      watch.observe(list, { childList: true, subtree: true });
    });
  }, id);
  return async () => page.evaluate(() => Promise.race([window.__floyoMoved,
    new Promise((resolve) => setTimeout(() => resolve(null), 30000))]));
}

await withComfy(async (page, res) => {
  const saved = process.env.SAVED_RUN;
  // its accessible name is the tab's tooltip (aria-label on every frontend so far)
  const tabButton = page.getByRole("button", { name: /^Floyo runs\b/ });
  res.tabButton = await tabButton.count();
  if (res.tabButton) await tabButton.first().click();
  else await page.evaluate(() => window.app.extensionManager.command.execute("Workspace.ToggleSidebarTab.floyo-runs"));
  await card(page, saved).waitFor({ state: "visible", timeout: 20000 })
    .catch(async (e) => { res.tab = await page.locator(".floyo-runs").innerText().catch(() => null); throw e; });
  res.savedCard = await card(page, saved).innerText();
  res.savedImages = await card(page, saved).getByRole("img").count();
  await button(card(page, saved), "Copy id").click();
  res.copyToast = await waitToast(page, `Copied ${saved}`, 10000);
  res.copyAcrossRefresh = await pressAcrossRefresh(page, button(card(page, saved), "Copy id"));
  await button(card(page, saved), "Fetch").click();
  res.fetchToast = await waitToast(page, "saved in output/floyo/", 30000);
  // the slow run's card comes in above the saved run's: a click on the saved card as it moves
  // must not fetch it again, and its Fetch takes clicks again once it has stayed put
  const moved = await clickFetchAsItMoves(page, saved);

  await page.evaluate((workflow) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    app.graph.add(node);
    node.widgets.find((w) => w.name === "workflow").value = workflow;
    node.widgets.find((w) => w.name === "run_name").value = `runs tab ${Date.now()}`;
    return app.queuePrompt(0, 1);
  }, process.env.WORKFLOW);
  res.clickAsItMoved = await moved();
  await page.waitForTimeout(1000);
  res.fetchAfterSettling = await button(card(page, saved), "Fetch").isEnabled();
  const live = page.locator(".floyo-run").filter({ has: button(page, "Cancel") }).first();
  await live.waitFor({ state: "visible", timeout: 30000 });
  res.liveCard = await live.innerText();
  res.liveRunId = await live.getAttribute("data-run-id");
  await button(live, "Cancel").click();
  res.cancelToast = await waitToast(page, "Cancel requested for run_", 10000);
  res.cancelled = await waitToast(page, "Remote run cancel", 30000);
  res.cancelledSeverity = await toastSeverity(page, "Remote run cancel");
  await button(card(page, res.liveRunId), "Cancel").waitFor({ state: "detached", timeout: 15000 });
  res.endedCard = await card(page, res.liveRunId).innerText();
});
