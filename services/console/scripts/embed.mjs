// Copies the generated site (.output/public) into the Go package that embeds it
// (services/featureserver/internal/console/dist), so that `floe serve` needs no
// Node.js. The copy is normalized to be byte-identical from build to build.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const src = resolve(here, "../.output/public");
const dst = resolve(here, "../../featureserver/internal/console/dist");

if (!existsSync(join(src, "index.html"))) {
  console.error(`embed: ${src}/index.html is missing; run \`npx nuxt generate\` first`);
  process.exit(1);
}
rmSync(dst, { recursive: true, force: true });
// 200.html and 404.html are copies of the shell for static hosts; the Go handler
// falls back to index.html itself.
cpSync(src, dst, { recursive: true, filter: (p) => !/[/\\](200|404)\.html$/.test(p) });

// Nuxt stamps the prerender time into every HTML shell; nothing reads it when
// payload extraction is off, and a constant keeps the committed files stable.
function normalize(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) normalize(p);
    else if (e.name.endsWith(".html")) {
      const html = readFileSync(p, "utf8").replace(/("prerenderedAt":1,"serverRendered":2\},)\d+/, "$10");
      writeFileSync(p, html);
    }
  }
}
normalize(dst);
console.log(`embed: copied ${src} → ${dst}`);
