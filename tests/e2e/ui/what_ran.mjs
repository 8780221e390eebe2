// What ran, kept: queue a graph from the page, then from its card in the runs tab "Open what ran"
// (a new workflow tab holding the same graph) and "Run again": with reuse "always run" it makes a
// new run; with "identical results" it reuses the saved one. Env: WORKFLOW_A, WORKFLOW_B (API-format
// JSON no run has sent yet), RUN_C (a run queued through the API, without a UI workflow).
import { graphSummary, openRunsTab, withComfy } from "./comfy_page.mjs";

const card = (page, id) => page.locator(`.floyo-run[data-run-id="${id}"]`);
const button = (scope, name) => scope.getByRole("button", { name, exact: true });

// the next floyo.run event of `status` after `from` events, for a run other than `not`
function nextEvent(page, status, from, not = null) {
  return page.waitForFunction(([s, n, skip]) => window.__floyoEvents.slice(n)
    .find((e) => e.status === s && e.run_id && e.run_id !== skip) ?? null,
  [status, from, not], { timeout: 60000, polling: 100 }).then((h) => h.jsonValue());
}
const seen = (page) => page.evaluate(() => window.__floyoEvents.length);

async function queueGraph(page, workflow, reuse) {
  const from = await seen(page);
  await page.evaluate(([text, mode]) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    node.pos = [260, 160];
    app.graph.add(node);
    const set = (name, value) => { node.widgets.find((w) => w.name === name).value = value; };
    set("workflow", text);
    set("reuse", mode);
    set("run_name", `what ran ${Date.now()}`);
    return app.queuePrompt(0, 1);
  }, [workflow, reuse]);
  return (await nextEvent(page, "saved", from)).run_id;
}

await withComfy(async (page, res) => {
  await page.evaluate(() => {
    window.__floyoEvents = [];
    window.comfyAPI.api.api.addEventListener("floyo.run", (e) => window.__floyoEvents.push(e.detail));
  });
  // A: always run. Open what ran, then Run again: a new run.
  res.runA = await queueGraph(page, process.env.WORKFLOW_A, "always run");
  res.queuedA = await graphSummary(page);
  await page.evaluate(() => window.app.graph.clear()); // the user moved on: the canvas holds something else
  await openRunsTab(page);
  await button(card(page, res.runA), "Open what ran").click();
  await page.waitForFunction(() => window.app.graph._nodes.length > 0, null, { timeout: 15000 });
  res.openedA = await graphSummary(page);
  res.openedTitle = await page.evaluate(() => window.app.extensionManager?.workflow?.activeWorkflow?.filename ?? null);
  let from = await seen(page);
  await button(card(page, res.runA), "Run again").click();
  res.againA = (await nextEvent(page, "saved", from, res.runA)).run_id;

  // B: identical results. Run again: the saved run is reused, nothing is created.
  res.runB = await queueGraph(page, process.env.WORKFLOW_B, "identical results");
  await card(page, res.runB).waitFor({ state: "visible", timeout: 15000 });
  from = await seen(page);
  await button(card(page, res.runB), "Run again").click();
  const reused = await nextEvent(page, "reused", from);
  res.againB = { run_id: reused.run_id, message: reused.message };

  // C, queued through the API (no UI workflow): Open what ran gives a Remote Run node holding it
  await card(page, process.env.RUN_C).waitFor({ state: "visible", timeout: 15000 });
  await page.evaluate(() => window.app.graph.clear()); // so the wait below sees only the opened graph
  // Dispatched on the button as found at that moment: B's reuse event has just made the tab re-render
  // its cards, and a mouse click aimed where C's button was can land beside it (CI, once). A's Open
  // and every Run again above are real mouse clicks.
  await button(card(page, process.env.RUN_C), "Open what ran").dispatchEvent("click");
  await page.waitForFunction(() => window.app.graph._nodes.some((n) => n.comfyClass === "FloyoRemoteRun"
    && n.widgets.find((w) => w.name === "workflow")?.value?.includes("class_type")), null, { timeout: 15000 });
  res.openedC = await page.evaluate(() => {
    const node = window.app.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun");
    const value = (name) => node.widgets.find((w) => w.name === name).value;
    return { nodes: window.app.graph._nodes.length, source: value("source"), workflow: value("workflow") };
  });

  // the inbox: search by run id, then filter by state (the cards are the server's answer)
  const cards = () => page.locator(".floyo-run").evaluateAll((els) => els.map((e) => e.dataset.runId));
  await page.getByRole("searchbox", { name: "Search Floyo runs" }).fill(res.runB);
  await page.waitForFunction((id) => [...document.querySelectorAll(".floyo-run")].every((e) => e.dataset.runId === id)
    && document.querySelectorAll(".floyo-run").length === 1, res.runB, { timeout: 10000 });
  res.searched = await cards();
  res.cardB = await card(page, res.runB).innerText();
  // the same search with the state filter on "failed": run B was saved, so nothing matches
  await page.getByRole("combobox", { name: "Filter Floyo runs by state" }).selectOption("failed");
  res.filtered = await page.locator(".floyo-runs-list").getByText("No run matches.").innerText({ timeout: 10000 });
  res.filteredCards = await cards();
}, { settings: { "Comfy.VueNodes.Enabled": false } });
