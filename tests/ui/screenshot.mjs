// Opens the dashboard in Debian's chromium, watches it for a while (the charts keep
// the history they saw), and saves a full-page screenshot: how docs/dashboard.png is
// made, with load running against the stack meanwhile.
// Usage: BATCHQ_API_KEY=... node screenshot.mjs GATEWAY_URL OUT.png [SECONDS]
// (the key is entered in the page's key box, as a user would)
import { chromium } from "playwright-core";

const [url, out, seconds = "40"] = process.argv.slice(2);
if (!url || !out) {
  console.error("usage: node screenshot.mjs GATEWAY_URL OUT.png [SECONDS]");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.BATCHQ_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url + "/ui");
  if (process.env.BATCHQ_API_KEY) {
    await page.fill("#api-key", process.env.BATCHQ_API_KEY);
    await page.click("#key-form button");
  }
  await page.waitForTimeout(Number(seconds) * 1000);
  await page.screenshot({ path: out, fullPage: false });
} finally {
  await browser.close();
}
