// Cancel on a Fetch Outputs node watching a run this ComfyUI did not create (another machine made
// it): the button says so, the first click only asks (a warning toast, nothing sent), the second
// click cancels it. Env: RUN_ID (the run made elsewhere).
import { clickNodeButton, waitText, waitToast, withComfy } from "./comfy_page.mjs";

const CANCEL = "Cancel Floyo run";
const FETCH = "FloyoFetchOutputs";

await withComfy(async (page, res) => {
  let posts = 0;
  page.on("request", (r) => { if (r.method() === "POST" && r.url().includes("/floyo/runs/cancel")) posts += 1; });
  await page.evaluate(([type, runId]) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode(type);
    app.graph.add(node);
    node.size = [560, node.size[1]];
    node.widgets.find((w) => w.name === "run_id").value = runId;
    return app.queuePrompt(0, 1);
  }, [FETCH, process.env.RUN_ID]);
  res.live = await waitText(page, ".floyo-status", "^Floyo: processing", 30000);
  await page.waitForFunction(([type, name]) => window.app.graph._nodes.find((n) => n.comfyClass === type)
    ?.widgets.find((w) => w.name === name)?.label?.includes("not started here"), [FETCH, CANCEL], { timeout: 10000 });
  res.label = await page.evaluate(([type, name]) => window.app.graph._nodes.find((n) => n.comfyClass === type)
    .widgets.find((w) => w.name === name).label, [FETCH, CANCEL]);
  await clickNodeButton(page, FETCH, CANCEL);
  res.asked = await waitToast(page, "not started by this ComfyUI", 10000);
  await page.waitForTimeout(1500); // nothing may be sent on the first click
  res.postsAfterFirst = posts;
  await clickNodeButton(page, FETCH, CANCEL);
  res.cancelled = await waitToast(page, "Remote run cancel|Floyo run", 30000);
  res.ended = await waitText(page, ".floyo-status", "\\(ended\\)$", 15000);
  res.postsAfterSecond = posts;
}, { settings: { "Comfy.VueNodes.Enabled": false } });
