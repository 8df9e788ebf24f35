// The gateway's dashboard in a real headless Chromium (Debian's, driven by
// playwright-core): the page loads, shows the live workers and charts, a job
// submitted from the form appears in the recent list and finishes, and bad input in
// the form gets a clear error. Prints one JSON line of what it saw; exits non-zero
// on the first broken promise. Every wait is bounded.
// Without a key the page says to enter one; with the key from KEY_FILE it shows the
// key's tenant.
// Usage: node dashboard_test.mjs GATEWAY_URL KEY_FILE [SCREENSHOT.png]
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [url, keyFile, screenshot] = process.argv.slice(2);
if (!url || !keyFile) {
  console.error("usage: node dashboard_test.mjs GATEWAY_URL KEY_FILE [SCREENSHOT.png]");
  process.exit(2);
}
const apiKey = readFileSync(keyFile, "utf8").trim();
const auth = { headers: { Authorization: "Bearer " + apiKey } };
const executablePath = process.env.BATCHQ_CHROMIUM || "/usr/bin/chromium";
const kWait = { timeout: 20000 };

const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  // Until the key is entered and used, the API's 401s are expected.
  let keyless = true;
  page.on("console", (m) => m.type() === "error" && !(keyless && m.text().includes("401")) &&
                            pageErrors.push(m.text()));

  const response = await page.goto(url + "/ui");
  if (response.status() !== 200) throw new Error(`GET /ui answered ${response.status()}`);
  await page.waitForFunction(() => document.getElementById("health").textContent === "ready",
                             null, kWait);

  // No key yet: the API refuses, and the page says what to do.
  await page.waitForFunction(
      () => document.getElementById("summary").textContent.includes("enter an API key"), null, kWait);
  await page.fill("#api-key", apiKey);
  await page.click("#key-form button");

  // Live workers, as the broker reports them.
  await page.waitForFunction(
      () => document.querySelectorAll("[data-testid=worker-row]").length >= 2, null, kWait);
  keyless = false;
  const workers = await page.$$eval("[data-testid=worker-row] td:first-child",
                                    (cells) => cells.map((c) => c.textContent));

  // The recent list follows the tenant's event stream, not a poll.
  await page.waitForSelector("#jobs-source[data-source=events]", kWait);

  // A job from the form: it shows up in the recent list and finishes there.
  await page.waitForFunction(
      () => [...document.querySelectorAll("#submit-type option")].some((o) => o.value === "upper"),
      null, kWait);
  await page.selectOption("#submit-type", "upper");
  await page.fill("#submit-input", '"from the browser"');
  await page.click("[data-testid=submit-button]");
  await page.waitForFunction(
      () => document.getElementById("submit-result").textContent.startsWith("accepted: "), null,
      kWait);
  const id = await page.getAttribute("#submit-result", "data-job-id");
  await page.waitForSelector(`[data-testid=job-row][data-id="${id}"]`, kWait);
  await page.waitForSelector(`[data-testid=job-row][data-id="${id}"][data-status="succeeded"]`,
                             kWait);
  const job = await (await fetch(`${url}/v1/jobs/${id}`, auth)).json();
  if (job.result !== "FROM THE BROWSER") {
    throw new Error(`the form's job has result ${JSON.stringify(job.result)}`);
  }

  // The charts have data: a legend entry per type, and the batches counted by size.
  await page.waitForFunction(
      () => document.getElementById("rate-legend").textContent.includes("upper"), null, kWait);
  const batches = await page.evaluate(async (key) => {
    const headers = { Authorization: "Bearer " + key };
    const types = (await (await fetch("/v1/types", { headers })).json()).types;
    return types.reduce((n, t) => n + t.batch_sizes.reduce((a, b) => a + b, 0), 0);
  }, apiKey);
  if (batches < 1) throw new Error("no batches counted after a job finished");

  // Bad JSON in the form is refused in the page, with a sentence, and sends nothing.
  const before = (await (await fetch(`${url}/v1/jobs?limit=1`, auth)).json()).jobs[0].id;
  await page.fill("#submit-input", "{oops");
  await page.click("[data-testid=submit-button]");
  await page.waitForFunction(
      () => document.getElementById("submit-result").textContent.includes("not valid JSON"), null,
      kWait);
  const after = (await (await fetch(`${url}/v1/jobs?limit=1`, auth)).json()).jobs[0].id;
  if (before !== after) throw new Error("a job was created from invalid input");

  if (pageErrors.length > 0) throw new Error("errors in the page: " + pageErrors.join("; "));
  // A good submit after the refusal clears the error.
  await page.fill("#submit-input", '"hello batchq"');
  await page.click("[data-testid=submit-button]");
  await page.waitForFunction(
      () => document.getElementById("submit-result").textContent.startsWith("accepted: "), null,
      kWait);
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ workers, job: id, batches }));
} catch (error) {
  failed = true;
  console.error("dashboard test failed: " + error.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
