// The Floyo API-key panel in ComfyUI's Settings dialog: type a key, save it, read the status.
// Env: KEY (the key to enter), SHOT (png path, optional).
import { withComfy, waitText } from "./comfy_page.mjs";

await withComfy(async (page, res) => {
  await page.evaluate(() => window.app.extensionManager.command.execute("Comfy.ShowSettingsDialog"));
  await page.getByRole("option", { name: "Floyo" }).or(page.getByText("Floyo", { exact: true })).first().click();
  const input = page.locator(".floyo-key-input");
  await input.waitFor({ state: "visible" });
  res.initial = await waitText(page, ".floyo-key-status", "configured|Configured", 10000);
  res.inputType = await input.getAttribute("type");
  await input.fill(process.env.KEY);
  await page.locator(".floyo-key-save").click();
  res.saved = await waitText(page, ".floyo-key-status", "^Saved", 10000);
  res.inputAfter = await input.inputValue();
  if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
  res.settingValue = await page.evaluate(() => window.app.extensionManager.setting.get("Floyo.ApiKey.Setup"));
});
