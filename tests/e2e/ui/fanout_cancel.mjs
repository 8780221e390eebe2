// The runs tab's Cancel on one element of a list (one run per seed) stops every element, so it says
// so ("Cancel all 2") and asks once: the first click only warns, the second sends one cancel.
// Env: RUN_IDS (the list's run ids, comma separated).
import { openRunsTab, waitToast, withComfy } from "./comfy_page.mjs";

const card = (page, id) => page.locator(`.floyo-run[data-run-id="${id}"]`);

await withComfy(async (page, res) => {
  const ids = process.env.RUN_IDS.split(",");
  let posts = 0;
  page.on("request", (r) => { if (r.method() === "POST" && r.url().includes("/floyo/runs/cancel")) posts += 1; });
  await openRunsTab(page);
  const cancel = card(page, ids[0]).locator(".floyo-run-cancel");
  await cancel.waitFor({ state: "visible", timeout: 15000 });
  res.labels = await Promise.all(ids.map((id) => card(page, id).locator(".floyo-run-cancel").innerText()));
  await cancel.click();
  res.asked = await waitToast(page, "stops all", 10000);
  await page.waitForTimeout(1500); // nothing may be sent on the first click
  res.postsAfterFirst = posts;
  await cancel.click();
  res.requested = await waitToast(page, "Cancel requested", 10000);
  for (const id of ids) await card(page, id).locator(".floyo-run-cancel").waitFor({ state: "detached", timeout: 30000 });
  res.postsAfterSecond = posts;
});
