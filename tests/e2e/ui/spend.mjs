// The spend guard in the real frontend: the team's balance in the settings panel and the runs tab
// header (with today's spend), a Floyo Remote Run node's estimate before its run, and the ETA on
// its status line while the run processes; then the run is interrupted. Env: WORKFLOW (API-format
// JSON of a graph with history). Controls are found by role and text, the node's line by its class.
import { waitText, withComfy } from "./comfy_page.mjs";

// the node's status line (textContent), or its tooltip (title)
const lineText = (page, what = "textContent") => page.evaluate((w) =>
  window.app.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun")?.floyoStatus?.[w] ?? null, what);

async function waitStatus(page, pattern, timeout = 30000, line = "textContent") {
  const re = new RegExp(pattern);
  const end = Date.now() + timeout;
  let text = null;
  while (Date.now() < end) {
    text = await lineText(page, line);
    if (text && re.test(text)) return text;
    await page.waitForTimeout(100);
  }
  throw new Error(`the node's ${line} never matched /${pattern}/; last: ${text}`);
}

await withComfy(async (page, res) => {
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.ShowSettingsDialog"));
  await page.getByRole("option", { name: "Floyo" }).or(page.getByText("Floyo", { exact: true })).first().click();
  res.settingsBalance = await waitText(page, ".floyo-balance", "^Balance: ", 15000);
  await page.keyboard.press("Escape");

  const tabButton = page.getByRole("button", { name: /^Floyo runs\b/ });
  if (await tabButton.count()) await tabButton.first().click();
  else await page.evaluate(() => window.app.extensionManager.command.execute("Workspace.ToggleSidebarTab.floyo-runs"));
  res.tabBalance = await waitText(page, ".floyo-runs .floyo-balance", "^Balance: ", 15000);
  res.tabSpend = await waitText(page, ".floyo-runs .floyo-spend", "^Today: ", 15000);

  await page.evaluate((workflow) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    node.pos = [260, 160];
    app.graph.add(node);
    node.size = [640, node.size[1]];
    node.widgets.find((w) => w.name === "workflow").value = workflow;
    node.widgets.find((w) => w.name === "run_name").value = `spend ${Date.now()}`;
    // what the frontend's change tracker sends after an edit
    window.comfyAPI.api.api.dispatchEvent(new CustomEvent("graphChanged"));
  }, process.env.WORKFLOW);
  res.estimate = await waitStatus(page, "^Floyo: no run · next run: ≈ \\d+ s FloTime");

  await page.evaluate(() => window.app.queuePrompt(0, 1));
  res.eta = await waitStatus(page, "ETA ≈ \\d+s");
  await page.evaluate(() => window.comfyAPI.api.api.interrupt());
  res.ended = await waitStatus(page, "\\(ended\\)$");
  res.estimateAfter = await waitStatus(page, "^next run: ≈ \\d+ s FloTime", 30000, "title"); // on hover
});
