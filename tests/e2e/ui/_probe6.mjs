import fs from "node:fs";
import { chromium } from "playwright-core";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: ["--no-sandbox"] });
const page = await browser.newPage();
await page.route((url) => !["127.0.0.1", "localhost"].includes(url.hostname), (r) => r.abort());
await page.goto(process.env.COMFY_URL + "/", { waitUntil: "domcontentloaded" });
await page.waitForFunction(() => window.app?.graph && window.LiteGraph && window.app.extensionManager, null, { timeout: 60000 });
await page.waitForTimeout(2000);
const out = [];
for (const [name, path] of JSON.parse(fs.readFileSync(process.env.LIST, "utf8"))) {
  out.push([name, await page.evaluate(async (wf) => {
    try { await window.app.loadGraphData(wf, true, false, "basic_image_color_adjustment", { showMissingNodesDialog: false, showMissingModelsDialog: false }); return "ok " + window.app.graph._nodes.length; }
    catch (e) { return String(e).slice(0, 200) + String(e.stack).slice(0, 1500); }
  }, JSON.parse(fs.readFileSync(path, "utf8")))]);
}
console.log(JSON.stringify(out, null, 1));
await browser.close();
