// Shared by the Floyo browser scripts: open the ComfyUI frontend in Debian's headless Chromium
// (playwright-core) and wait for the Floyo extension. Setup: .ci/setup.sh.
// Env: COMFY_URL, CHROMIUM. Each script prints "RESULT {json}" as its last stdout line.
import { chromium } from "playwright-core";

export const BASE = process.env.COMFY_URL || "http://127.0.0.1:8188";
// The tests run offline and talk to loopback only, yet the frontend calls api.comfy.org and others.
// Every request to another host goes to a proxy on a loopback port where nothing listens, so it
// fails at once and no name is looked up; Chromium never sends loopback addresses through a proxy
// (its implicit bypass rules), so ComfyUI is reached directly. A page.route() did this before, but
// it sent each of a page load's ~500 requests through node: ~1.5 CPU-s more per page
// (docs/performance.md, "CI time").
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic", "--proxy-server=http://127.0.0.1:9"];

const VIEWPORT = { width: 1280, height: 800 };
const LAUNCH = { executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: ARGS };
// What an earlier script of this profile may have left for the ComfyUI's origin, and a page must
// not find: everything the origin stores, but not the HTTP and code caches (the reason to keep it).
const STORAGE = "cookies,file_systems,indexeddb,local_storage,service_workers,cache_storage";
let isolated = null; // a second browser for newContext(), launched when a script first asks

// A browser context with storage of its own (a second user, another ComfyUI), in a new browser.
export async function newContext() {
  isolated ??= chromium.launch(LAUNCH);
  return (await isolated).newContext({ viewport: VIEWPORT });
}

// The script's page. With PROFILE (tests/e2e/support/browser.py: one folder per pytest worker),
// Chromium keeps its HTTP and code caches there between the worker's scripts, and the page starts
// with nothing stored for the ComfyUI's origin, as in a new browser. `done` closes what was opened.
export async function openPage() {
  if (!process.env.PROFILE) {
    const browser = await chromium.launch(LAUNCH);
    return { page: await browser.newPage({ viewport: VIEWPORT }), done: () => browser.close() };
  }
  const context = await chromium.launchPersistentContext(process.env.PROFILE, { ...LAUNCH, viewport: VIEWPORT });
  const page = await context.newPage(); // and no other: not the start page, nor any a profile restored
  await Promise.all(context.pages().filter((p) => p !== page).map((p) => p.close()));
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.clearDataForOrigin", { origin: new URL(BASE).origin, storageTypes: STORAGE });
  await cdp.detach();
  return { page, done: () => context.close() };
}

export async function withComfy(body, { settings = {} } = {}) {
  const result = { pageErrors: [], console: [] };
  const { page, done } = await openPage();
  try {
    page.setDefaultTimeout(30000);
    // A returning user has dismissed the Nodes 2.0 banner and, on frontend 1.32, the "Prefer the
    // legacy design?" toast that turning Vue nodes on shows for good (life 0, bottom centre): it
    // lies over a tall node's lower widgets and would take the click meant for them.
    await page.addInitScript(() => {
      localStorage.setItem("vueNodesBannerDismissed", "true");
      localStorage.setItem("comfy.vueNodesMigration.dismissed", "true");
    });
    page.on("pageerror", (e) => result.pageErrors.push(String(e).slice(0, 300)));
    page.on("console", (m) => { if (m.type() === "warning" && m.text().includes("Floyo")) result.console.push(m.text()); });
    await page.goto(BASE + "/", { waitUntil: "domcontentloaded" });
    await frontendReady(page);
    for (const [id, value] of Object.entries(settings)) {
      await page.evaluate(([i, v]) => window.app.extensionManager.setting.set(i, v), [id, value]);
    }
    await recordToasts(page);
    await body(page, result); // fills `result` as it goes, so a failure still shows what happened
  } catch (e) {
    result.error = String(e?.stack || e).slice(0, 2000);
  } finally {
    await done();
    await isolated?.then((browser) => browser.close(), () => {}); // a failed launch is in result.error
  }
  console.log("RESULT " + JSON.stringify(result));
}

// The frontend is ready for a script: the canvas shown, the app and the Floyo extension loaded,
// and its first workflow open (a new browser opens the default graph, a reload the one it had). A
// graph a script builds before that is replaced, with its Floyo node and status line.
export async function frontendReady(page) {
  await page.waitForSelector("#graph-canvas", { state: "visible", timeout: 60000 });
  await page.waitForFunction(() => window.app?.graph && window.LiteGraph
    && window.app.extensions?.some((e) => e.name === "floyo.RunControls") && window.app.graph._nodes.length > 0,
  null, { timeout: 60000 });
}

export async function waitText(page, selector, pattern, timeout = 30000) {
  return page.waitForFunction(([sel, src]) => [...document.querySelectorAll(sel)]
    .map((e) => e.textContent).find((t) => new RegExp(src).test(t)) || null,
  [selector, pattern], { timeout, polling: 100 }).then((h) => h.jsonValue());
}

// Toasts, whichever component draws them (PrimeVue's Toast on frontend 1.32, the frontend's own
// since): each is an element with the ARIA role "alert" holding its summary and detail. Returns the
// text of the first visible one matching `pattern` (a RegExp source).
export async function waitToast(page, pattern, timeout = 30000) {
  const toast = page.getByRole("alert").filter({ hasText: new RegExp(pattern) }).first();
  await toast.waitFor({ state: "visible", timeout });
  return toast.innerText();
}

// A toast's severity is in no accessible name or role, and each frontend marks it its own way (a
// PrimeVue class, a data attribute). So withComfy records what the page asks the frontend's
// toast API for (app.extensionManager.toast.add, the one the pack calls): window.__floyoToasts.
async function recordToasts(page) {
  await page.evaluate(() => {
    const toast = window.app.extensionManager?.toast;
    window.__floyoToasts = [];
    if (!toast?.add) return;
    const add = toast.add.bind(toast);
    toast.add = (message) => {
      window.__floyoToasts.push({ severity: message?.severity ?? null, detail: String(message?.detail ?? "") });
      return add(message);
    };
  });
}

// The severity the pack asked for with the last toast whose detail matches `pattern`, or null.
export async function toastSeverity(page, pattern) {
  return page.evaluate((src) => window.__floyoToasts.findLast((t) => new RegExp(src).test(t.detail))?.severity
    ?? null, pattern);
}

// Record what the Queue button's path sends to /prompt: each queued prompt's node ids with their
// class_type (null when the frontend had none) and ComfyUI's answer or refusal, in window.__floyoSent.
export async function recordQueuedPrompts(page) {
  await page.evaluate(() => {
    const api = window.comfyAPI.api.api, queue = api.queuePrompt.bind(api);
    api.queuePrompt = async (number, prompt, options) => {
      const sent = { nodes: Object.fromEntries(Object.entries(prompt.output)
        .map(([id, node]) => [id, node.class_type ?? null])) };
      window.__floyoSent = sent;
      try {
        sent.answer = await queue(number, prompt, options);
        return sent.answer;
      } catch (e) {
        sent.refused = e?.response ?? String(e);
        throw e;
      }
    };
  });
}

// A real mouse click on a button widget of the first node of `comfyClass` on the canvas renderer,
// the node brought into view first (a restored workflow keeps whatever view it was saved with).
export async function clickNodeButton(page, comfyClass, name) {
  const [x, y] = await page.evaluate(([type, label]) => {
    const { app } = window;
    const node = app.canvas.graph._nodes.find((n) => n.comfyClass === type);
    const button = node.widgets.find((w) => w.name === label);
    node.pos = [260, 160];
    app.canvas.ds.offset = [0, 0];
    app.canvas.ds.scale = 1;
    app.canvas.setDirty(true, true);
    app.canvas.draw(true, true);
    const [cx, cy] = app.canvas.ds.convertOffsetToCanvas([node.pos[0] + node.size[0] / 2, node.pos[1] + button.y + 10]);
    const rect = app.canvas.canvas.getBoundingClientRect();
    return [rect.left + cx, rect.top + cy];
  }, [comfyClass, name]);
  await page.mouse.click(x, y);
}

// The graph's nodes as a user would compare two graphs: type and widget values, by id.
export function graphSummary(page) {
  return page.evaluate(() => window.app.graph.serialize().nodes
    .map((n) => ({ id: n.id, type: n.type, widgets_values: n.widgets_values ?? null }))
    .sort((a, b) => a.id - b.id));
}

// Open the "Floyo runs" sidebar tab (its button's accessible name is the tab's tooltip).
export async function openRunsTab(page) {
  const tabButton = page.getByRole("button", { name: /^Floyo runs\b/ });
  if (await tabButton.count()) await tabButton.first().click();
  else await page.evaluate(() => window.app.extensionManager.command.execute("Workspace.ToggleSidebarTab.floyo-runs"));
  await page.locator(".floyo-runs").waitFor({ state: "visible", timeout: 20000 });
}
