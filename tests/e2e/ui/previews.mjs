// A FloyoRemoteRun node in the real frontend shows what its run saved: the video as a video
// preview and the audio in the node's audio player, both served from output/floyo/<run id>/.
// Env: WORKFLOW (API-format JSON for the node), SHOT (png path, optional).
import { withComfy, waitText } from "./comfy_page.mjs";

await withComfy(async (page, res) => {
  await page.evaluate((workflow) => {
    const { app, LiteGraph } = window;
    app.graph.clear();
    const node = LiteGraph.createNode("FloyoRemoteRun");
    node.pos = [100, 100];
    app.graph.add(node);
    node.size = [520, node.size[1]];
    node.widgets.find((w) => w.name === "workflow").value = workflow;
    app.canvas.setDirty(true, true);
  }, process.env.WORKFLOW);
  await page.evaluate(() => window.app.queuePrompt(0, 1));
  res.status = await waitText(page, ".floyo-status", "^Floyo: (saved|reused)", 90000)
    .catch(async (e) => { // what the node showed instead, for the failure's RESULT
      res.statusLines = await page.evaluate(() => [...document.querySelectorAll(".floyo-status")].map((s) => s.textContent));
      throw e;
    });
  const media = () => page.evaluate(() => {
    const src = (sel) => [...document.querySelectorAll(sel)].map((e) => e.currentSrc || e.src).filter(Boolean);
    const node = window.app.graph._nodes.find((n) => n.comfyClass === "FloyoRemoteRun");
    return { videos: src("video"), audios: src("audio"), isVideoNode: !!node?.videoContainer,
      audioWidget: !!node?.widgets?.some((w) => w.name === "audioUI") };
  });
  await page.waitForFunction(() => [...document.querySelectorAll("video")].some((v) => v.src)
    && [...document.querySelectorAll("audio")].some((a) => a.src), null, { timeout: 30000, polling: 100 });
  Object.assign(res, await media());
  res.served = await page.evaluate(async (urls) => Promise.all(urls.map(async (u) => {
    const r = await fetch(u);
    return { status: r.status, type: r.headers.get("content-type"), bytes: (await r.arrayBuffer()).byteLength };
  })), [...res.videos, ...res.audios]);
  if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
});
