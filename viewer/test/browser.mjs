// Drive the viewer in Debian's Chromium (headless, through playwright-core) inside the test host page, against a
// running server, and write what happened to results.json (pytest checks it against the server's own answers).
//   node test/browser.mjs '{"server": "http://127.0.0.1:PORT", "imageSetId": "...", "out": "DIR",
//                           "screenshots": "DIR"}'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2]);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WARM_STEPS = 12;
mkdirSync(config.out, { recursive: true });
mkdirSync(config.screenshots, { recursive: true });

const hostScript = (
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL("host.ts", import.meta.url))],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    write: false,
    logLevel: "warning",
  })
).outputFiles[0].text;
const hostPage = `<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<style>body{margin:0;font:13px system-ui;background:#f4f4f5} iframe{border:0;width:760px;height:900px;display:block;
background:#fff}</style></head><body><div id="chat"></div><script>${hostScript.replaceAll("</script", "<\\/script")}</script></body></html>`;

const profile = mkdtempSync(join(tmpdir(), "viewer-chromium-"));
// A fresh profile (--user-data-dir) for every run: Playwright passes it for a persistent context.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 780, height: 960 },
  deviceScaleFactor: 1,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const results = { console: [], steps: {} };
const TIMEOUT = Number(process.env.VIEWER_TEST_TIMEOUT_MS ?? 60_000);
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on("console", (message) => {
    if (["error", "warning"].includes(message.type())) results.console.push(`${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => results.console.push(`pageerror: ${error.message}`));
  // The host page is served at the server's own origin (no CORS: the host calls /mcp like any same-site page).
  await page.route(`${config.server}/__viewer_test_host__`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: hostPage }),
  );
  await page.goto(`${config.server}/__viewer_test_host__`);
  const opened = Date.now();
  await page.evaluate((imageSetId) => globalThis.openView({ image_set_id: imageSetId }), config.imageSetId);
  await page.waitForFunction(() => globalThis.hostLog.toolResult !== undefined, null, { timeout: TIMEOUT });
  const frame = page.frames().find((f) => f !== page.mainFrame());
  const main = frame.locator("main");
  await frame.waitForSelector('main[data-state="ready"]', { timeout: TIMEOUT });
  results.loadMs = Date.now() - opened;
  const iframe = page.locator("iframe");
  const overlay = frame.locator("#overlay");

  const viewer = (expression) => frame.evaluate(expression);
  const shown = () => viewer(() => globalThis.seriesViewer.shown());
  const pixels = async (name) => {
    const rgba = await viewer(() => {
      const canvas = document.getElementById("image");
      const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let binary = "";
      for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { width: canvas.width, height: canvas.height, data: btoa(binary) };
    });
    const file = join(config.out, `${name}.rgba`);
    writeFileSync(file, Buffer.from(rgba.data, "base64"));
    return { file, width: rgba.width, height: rgba.height };
  };
  const screenshot = (name) => iframe.screenshot({ path: join(config.screenshots, `${name}.png`) });
  const indexIs = (index) => frame.waitForSelector(`main[data-index="${index}"]`, { timeout: 30_000 });
  const prefetched = () => frame.waitForSelector('main[data-prefetched="true"]:not([data-busy])', { timeout: TIMEOUT });
  /** Canvas pixels → the page coordinates of that point of the overlay. */
  const at = async ([x, y]) => {
    const box = await overlay.boundingBox();
    const size = await viewer(() => [document.getElementById("overlay").width, document.getElementById("overlay").height]);
    return [box.x + (x * box.width) / size[0], box.y + (y * box.height) / size[1]];
  };
  const drag = async (from, to) => {
    const [x0, y0] = await at(from);
    const [x1, y1] = await at(to);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    await page.mouse.move((x0 + x1) / 2, (y0 + y1) / 2, { steps: 4 });
    await page.mouse.move(x1, y1, { steps: 4 });
    await page.mouse.up();
  };

  // 1. Loaded: the slice view_series starts at.
  results.steps.loaded = { shown: await shown(), pixels: await pixels("loaded"), toolResult: await page.evaluate(() => globalThis.hostLog.toolResult) };
  await screenshot("01-loaded-middle-slice");

  // 2. Scrolled with the mouse wheel: one notch, one slice.
  await prefetched();
  const start = results.steps.loaded.shown.index;
  await overlay.hover();
  await page.mouse.wheel(0, 100);
  await indexIs(start + 1);
  await page.mouse.wheel(0, 100);
  await indexIs(start + 2);
  results.steps.scrolled = { shown: await shown(), pixels: await pixels("scrolled") };
  await screenshot("02-scrolled");

  // 3. Warm slice changes (prefetched around the current slice): input to the frame that paints the pixels.
  await overlay.focus(); // keys go to the view once the user has clicked into it
  await prefetched();
  await viewer(() => (globalThis.seriesViewer.stats.latencies.length = 0));
  let index = results.steps.scrolled.shown.index;
  for (let step = 0; step < WARM_STEPS; step++) {
    await prefetched();
    await page.keyboard.press("ArrowDown");
    index += 1;
    await indexIs(index);
    await frame.waitForFunction((n) => globalThis.seriesViewer.stats.latencies.length >= n, step + 1);
  }
  results.steps.warm = { latencies: await viewer(() => globalThis.seriesViewer.stats.latencies) };

  // 4. A slice not fetched ahead (End): the round trip through host and server.
  await viewer(() => (globalThis.seriesViewer.stats.latencies.length = 0));
  await page.keyboard.press("End");
  const last = (await viewer(() => globalThis.seriesViewer.state())).count - 1;
  await indexIs(last);
  await frame.waitForFunction(() => globalThis.seriesViewer.stats.latencies.length >= 1);
  results.steps.cold = { latencies: await viewer(() => globalThis.seriesViewer.stats.latencies) };
  await page.keyboard.press("Home");
  await indexIs(0);
  await page.keyboard.press("PageDown");
  await indexIs(10);
  for (let i = 0; i < 5; i++) await page.keyboard.press("PageDown");
  await indexIs(60);
  await prefetched();

  // 5. Window: a preset by key (1 = the first preset, lung), then dragging window/level.
  await page.keyboard.press("1");
  await frame.waitForSelector('main[data-window="-600/1500"]');
  results.steps.preset = { shown: await shown(), pixels: await pixels("preset") };
  await screenshot("03-lung-window");
  await page.keyboard.press("r");
  await frame.waitForSelector('main[data-window="40/400"]');
  await drag([256, 256], [306, 226]); // wider, lower level
  await frame.waitForFunction(() => {
    const info = globalThis.seriesViewer.shown();
    const wanted = globalThis.seriesViewer.state().window;
    return wanted && info.window_center === wanted[0] && info.window_width === wanted[1];
  });
  await prefetched();
  results.steps.dragged = { shown: await shown(), pixels: await pixels("dragged") };
  await screenshot("04-window-dragged");

  // 6. Measurements: a distance, and a circular ROI.
  await page.keyboard.press("r");
  await frame.waitForSelector('main[data-window="40/400"]');
  await frame.locator('button[data-tool="line"]').click();
  const line = [[120.5, 180.5], [390.5, 300.5]];
  await drag(...line);
  await frame.waitForSelector('main[data-measurements="1"]');
  await frame.locator('button[data-tool="circle"]').click();
  await drag([256.5, 256.5], [286.5, 256.5]);
  await frame.waitForSelector('main[data-measurements="2"]');
  results.steps.measured = {
    shown: await shown(),
    dragged: { line, circle: [[256.5, 256.5], [286.5, 256.5]] },
    measurements: await viewer(() => globalThis.seriesViewer.measurements()),
    listed: await frame.locator("#measurements li").allTextContents(),
  };
  await screenshot("05-measurements");

  // 7. Another plane with a slab.
  await page.keyboard.press("c");
  await frame.waitForSelector('main[data-plane="coronal"]');
  await frame.locator("#slab").selectOption("10");
  await frame.waitForFunction(() => /MIP of a 10 mm slab/.test(globalThis.seriesViewer.shown().caption));
  results.steps.coronalSlab = { shown: await shown(), pixels: await pixels("coronalSlab") };
  await screenshot("06-coronal-mip-slab");

  // 7b. A distance drawn on the slab: measured on its central thin plane, and listed as such.
  await frame.locator('button[data-tool="line"]').click();
  await drag([150.5, 150.5], [350.5, 250.5]);
  await frame.waitForSelector('main[data-measurements="3"]');
  results.steps.slabMeasured = {
    shown: await shown(),
    measurements: await viewer(() => globalThis.seriesViewer.measurements()),
    listed: await frame.locator("#measurements li").allTextContents(),
  };
  await frame.locator('button[data-tool="window"]').click();

  // 8. What the view handed to the model (the last update counts), once it settles.
  await page.waitForFunction(
    () => {
      const last = globalThis.hostLog.contexts.at(-1);
      return last && /coronal/.test(JSON.stringify(last.structuredContent ?? {})) && last.structuredContent.measurements?.length === 3;
    },
    null,
    { timeout: 10_000 },
  );
  results.host = await page.evaluate(() => {
    const log = globalThis.hostLog;
    const last = log.contexts.at(-1);
    return {
      listed: log.listed,
      modelTools: log.modelTools,
      plainClientTools: log.plainClientTools,
      resourceMimeType: log.resourceMimeType,
      resourceCsp: log.resourceCsp,
      contextUpdates: log.contexts.length,
      lastContext: {
        text: last.content.filter((b) => b.type === "text").map((b) => b.text).join("\n"),
        images: last.content.filter((b) => b.type === "image").map((b) => ({ mimeType: b.mimeType, length: b.data.length })),
        structuredContent: last.structuredContent,
      },
    };
  });
  results.shared = await frame.locator("#shared").textContent();
  await page.screenshot({ path: join(config.screenshots, "07-host-page.png"), fullPage: true });

  // 8b. The series picker: another series of the study, held in another image set, at its middle slice.
  const before = await viewer(() => globalThis.seriesViewer.series());
  const choices = await frame.locator("#series option").allTextContents();
  await frame.locator("#series").selectOption({ index: 1 });
  await frame.waitForFunction(
    (opened) => {
      const now = globalThis.seriesViewer.series();
      return now && now.series_instance_uid !== opened.series_instance_uid && document.querySelector("main").dataset.state === "ready";
    },
    before,
    { timeout: TIMEOUT },
  );
  results.steps.otherSeries = {
    before,
    choices,
    series: await viewer(() => globalThis.seriesViewer.series()),
    shown: await shown(),
    pixels: await pixels("otherSeries"),
  };
  await screenshot("07b-other-series-of-the-study");

  // 9. A series that makes no volume (one frame): shown frame by frame through get_image_frame.
  if (config.singleFrameImageSetId) {
    await page.evaluate((id) => globalThis.openView({ image_set_id: id }), config.singleFrameImageSetId);
    await page.waitForFunction(() => document.querySelectorAll("iframe").length === 2);
    const second = page.frames().find((f) => f !== page.mainFrame() && f !== frame);
    await second.waitForSelector('main[data-state="ready"]', { timeout: TIMEOUT });
    results.steps.singleFrame = {
      shown: await second.evaluate(() => globalThis.seriesViewer.shown()),
      planesEnabled: await second.locator("button[data-plane]:not([disabled])").count(),
    };
    await page.locator("iframe").nth(1).screenshot({ path: join(config.screenshots, "08-single-frame-series.png") });
  }
} catch (error) {
  results.error = String(error?.stack ?? error);
  const frame = browser.pages()[0]?.frames()[1];
  results.lastState = await frame
    ?.evaluate(() => ({ dataset: { ...document.querySelector("main").dataset }, status: document.getElementById("status").textContent }))
    .catch((e) => String(e));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
  writeFileSync(join(config.out, "results.json"), JSON.stringify(results, null, 1));
}
console.log(results.error ? `FAILED: ${results.error}` : "done");
process.exit(results.error ? 1 : 0);
