// The Floyo workflow picker in the real frontend: a Floyo Remote Run node's "Pick Floyo workflow…"
// button opens the dialog; search for a team workflow, page with More, read its inputs (node titles
// and widget names), Use it, and the node is filled; then queue the graph from the page.
// Env: SEARCH (a word only the wanted workflow's name has), WANTED (its id).
// The dialog and its controls are found by role and accessible name, workflows by their text.
import { waitToast, withComfy } from "./comfy_page.mjs";

await withComfy(async (page, res) => {
  res.button = await page.evaluate(() => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    app.graph.add(node);
    window.__floyoNode = node;
    const pick = node.widgets.find((w) => w.type === "button" && /Pick Floyo workflow/.test(w.name));
    if (!pick) return null;
    pick.callback(); // a canvas widget has no DOM element to click
    return pick.name;
  });
  const dialog = page.getByRole("dialog", { name: "Floyo workflows" });
  await dialog.waitFor({ state: "visible", timeout: 10000 });
  const items = dialog.getByRole("listitem");
  await items.first().waitFor({ state: "visible", timeout: 20000 });
  res.firstPage = await items.count();
  await dialog.getByRole("button", { name: "More", exact: true }).click();
  await page.waitForFunction((n) => document.querySelectorAll(".floyo-wf").length > n, res.firstPage, { timeout: 20000 });
  res.afterMore = await items.count();

  await dialog.getByRole("searchbox", { name: "Search Floyo workflows" }).fill(process.env.SEARCH);
  await dialog.getByRole("searchbox", { name: "Search Floyo workflows" }).press("Enter");
  const wanted = items.filter({ hasText: process.env.WANTED });
  await page.waitForFunction(() => document.querySelectorAll(".floyo-wf").length === 1, null, { timeout: 20000 });
  res.found = await items.allInnerTexts();
  await wanted.getByRole("button", { name: "Inputs", exact: true }).click();
  await wanted.locator(".floyo-wf-target").first().waitFor({ state: "visible", timeout: 20000 });
  res.inputs = await wanted.locator(".floyo-wf-target").allInnerTexts();
  await dialog.getByRole("combobox", { name: "Scope" }).selectOption("public");
  await page.waitForFunction(() => document.querySelectorAll(".floyo-wf").length === 0, null, { timeout: 20000 });
  res.publicOnly = await dialog.innerText();
  await dialog.getByRole("combobox", { name: "Scope" }).selectOption("team");
  await wanted.getByRole("button", { name: "Use", exact: true }).click();
  res.toast = await waitToast(page, "runs Floyo workflow", 10000);
  res.dialogLeft = await dialog.count();
  res.widgets = await page.evaluate(() => Object.fromEntries(window.__floyoNode.widgets
    .filter((w) => ["source", "floyo_workflow"].includes(w.name)).map((w) => [w.name, w.value])));
  res.queued = await page.evaluate(() => window.app.queuePrompt(0, 1).then(() => true, (e) => String(e)));
});
