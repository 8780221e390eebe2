// What a page of the ComfyUI's origin finds stored when a script opens it, then a mark stored for
// the next script of the same profile to find, or not (tests/e2e/test_comfyui_harness.py). Opens
// a small JSON page of the origin, not the frontend. Env: COMFY_URL, CHROMIUM, PROFILE.
import { BASE, openPage } from "./comfy_page.mjs";

const result = {};
const { page, done } = await openPage();
try {
  await page.goto(BASE + "/api/system_stats");
  Object.assign(result, await page.evaluate(async () => {
    const found = { local: localStorage.getItem("floyo.probe"), databases: (await indexedDB.databases()).map((d) => d.name) };
    localStorage.setItem("floyo.probe", "stored");
    await new Promise((resolve) => { const open = indexedDB.open("floyo-probe"); open.onsuccess = open.onerror = resolve; });
    return found;
  }));
} catch (e) {
  result.error = String(e?.stack || e).slice(0, 2000);
} finally {
  await done();
}
console.log("RESULT " + JSON.stringify(result));
