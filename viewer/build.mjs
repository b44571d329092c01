// Build the viewer into one self-contained HTML file inside the Python package (so a pip install needs no Node):
// the bundle and the stylesheet inline, under a CSP that allows exactly these two (by hash) and nothing else.
//   node build.mjs          write ../src/healthimaging_mcp/apps/viewer.html
//   node build.mjs --check  exit 1 when that file differs from what the source builds (CI runs this)
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
export const OUTPUT = here("../src/healthimaging_mcp/apps/viewer.html");

/** The page: deterministic for a given source and lockfile. */
export async function buildViewer() {
  const bundle = await esbuild.build({
    entryPoints: [here("src/main.ts")],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "eof",
    charset: "utf8",
    write: false,
    logLevel: "warning",
  });
  const script = bundle.outputFiles[0].text.replaceAll("</script", "<\\/script").trimEnd();
  const style = readFileSync(here("src/viewer.css"), "utf8").trimEnd();
  const hash = (text) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
  const csp = [
    "default-src 'none'",
    `script-src ${hash(script)}`,
    `style-src ${hash(style)}`,
    "img-src data: blob:",
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return readFileSync(here("src/index.html"), "utf8")
    .replace("{{CSP}}", csp)
    .replace("{{STYLE}}", () => style)
    .replace("{{SCRIPT}}", () => script);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const html = await buildViewer();
  if (process.argv.includes("--check")) {
    const committed = readFileSync(OUTPUT, "utf8");
    if (committed !== html) {
      console.error(`${OUTPUT} is not what viewer/src builds: run \`npm run build\` in viewer/ and commit it.`);
      process.exit(1);
    }
    console.log(`viewer.html is up to date (${html.length} characters)`);
  } else {
    writeFileSync(OUTPUT, html);
    console.log(`wrote ${OUTPUT} (${html.length} characters)`);
  }
}
