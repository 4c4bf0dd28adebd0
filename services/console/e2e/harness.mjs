// End-to-end harness: a real `floe serve` on the embedded default (SQLite
// Iceberg catalog, in-process online store) with the pricing example ingested
// twice (so time travel has two snapshots to compare) and materialized; the
// console as it ships (the embedded dist/) served from the same origin; and
// Debian's chromium driven by playwright-core.
import { execFile, spawn } from "node:child_process";
import { accessSync, closeSync, constants, createReadStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
export const screenshots = process.env.CONSOLE_SCREENSHOTS || join(repo, "test-output", "console");
const dist = process.env.CONSOLE_DIST || join(repo, "services", "featureserver", "internal", "console", "dist");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
// The pricing example by default; another spec directory of the same project can
// be given (e.g. a pinned copy while specs/ is being edited).
const specs = process.env.CONSOLE_E2E_SPECS || join(repo, "specs", "examples", "pricing");

function floeBin() {
  const bin = process.env.FLOE_BIN || join(repo, "bin", "floe");
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`floe binary not found at ${bin}: run \`go build -o bin/floe ./services/featureserver/cmd/floe\` at the repository root, or set FLOE_BIN`);
  }
  return bin;
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// FLOE_* variables override the config file: a developer's shell must not
// redirect the test server.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FLOE_")));

async function floe(bin, args) {
  try {
    const { stdout } = await run(bin, args, { env, timeout: 180_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    throw new Error(`floe ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
  }
}

async function waitReady(url, server, log) {
  const deadline = Date.now() + 60_000;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`floe serve exited before becoming ready; log:\n${readFileSync(log, "utf8")}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 50)); // poll interval
  }
  throw new Error(`floe serve not ready within 60 s (${last}); log:\n${readFileSync(log, "utf8")}`);
}

function parseCsv(text) {
  const [header, ...lines] = text.trim().split("\n");
  const cols = header.split(",");
  return lines.map((line) => {
    const cells = line.match(/("[^"]*"|[^,]*)(,|$)/g).map((c) => c.replace(/,$/, "").replace(/^"|"$/g, ""));
    return Object.fromEntries(cols.map((c, i) => [c, cells[i]]));
  });
}

/** The latest row of an id in a CSV file (what "now" serves). */
export function latestRow(file, id) {
  return parseCsv(readFileSync(file, "utf8"))
    .filter((r) => r.user_id === String(id))
    .sort((a, b) => a.event_time.localeCompare(b.event_time))
    .at(-1);
}

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml" };

// The console's static files with the Go handler's rules, and the API proxied to
// Floe: the same origin, as when `floe serve` serves the console itself.
function startConsoleServer(floeUrl) {
  const target = new URL(floeUrl);
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname.startsWith("/floe.v1.")) {
      const up = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (r) => {
          res.writeHead(r.statusCode, r.headers);
          r.pipe(res);
        },
      );
      up.on("error", (err) => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(String(err));
      });
      req.pipe(up);
      return;
    }
    if (url.pathname === "/" || url.pathname === "/console") {
      res.writeHead(302, { location: "/console/" + url.search });
      return res.end();
    }
    if (!url.pathname.startsWith("/console/")) {
      res.writeHead(404);
      return res.end();
    }
    let rel = normalize(decodeURIComponent(url.pathname.slice("/console/".length))).replace(/^(\.\.[/\\])+/, "");
    if (rel === "" || rel === ".") rel = "index.html";
    let file = join(dist, rel);
    if (!existsSync(file) || !statSync(file).isFile()) {
      if (rel.startsWith("_nuxt/") || extname(rel)) {
        res.writeHead(404);
        return res.end();
      }
      file = join(dist, "index.html");
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" });
    createReadStream(file).pipe(res);
  });
  return new Promise((res) => server.listen(0, "127.0.0.1", () => res(server)));
}

/**
 * Starts everything; returns { consoleUrl, floeUrl, csv, firstSnapshotCsv,
 * launch, stop }.
 */
export async function start() {
  if (!existsSync(join(dist, "index.html"))) throw new Error(`no console build in ${dist}: run \`npm run build:embed\``);
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM)`);
  const bin = floeBin();
  const root = mkdtempSync(join(tmpdir(), "floe-console-e2e-"));
  const port = await freePort();
  const floeUrl = `http://127.0.0.1:${port}`;
  const config = join(root, "floe.yaml");
  writeFileSync(config, [`listen: 127.0.0.1:${port}`, `specs: ${specs}`, `data_dir: ${join(root, "data")}`, "online:", "  type: memory", ""].join("\n"));

  const out = await floe(bin, ["example-data", "--project", "pricing", "--out", join(root, "csv")]);
  const csv = {};
  for (const line of out.split("\n")) {
    const m = /^(\S+)\s+(.+)$/.exec(line.trim());
    if (m) csv[m[1]] = m[2];
  }
  // In this order, whatever order example-data lists them in: the time-travel test
  // walks the commits (user_profile, user_behavior, then the update below).
  for (const view of ["user_profile", "user_behavior"]) await floe(bin, ["ingest", "--config", config, "--view", view, "--file", csv[view]]);

  // A second commit to user_behavior: user 1 gets new sessions and purchases.
  const before = latestRow(csv.user_behavior, 1);
  const after = { ...before, event_time: new Date().toISOString().replace(/\.\d+Z$/, "Z"), sessions_7d: String(Number(before.sessions_7d) + 5), purchases_30d: String(Number(before.purchases_30d) + 1) };
  const header = readFileSync(csv.user_behavior, "utf8").split("\n")[0];
  const update = join(root, "user_behavior_update.csv");
  writeFileSync(update, `${header}\n${header.split(",").map((c) => (c === "embedding" ? `"${after[c]}"` : after[c])).join(",")}\n`);
  await floe(bin, ["ingest", "--config", config, "--view", "user_behavior", "--file", update]);

  const log = join(root, "server.log");
  const fd = openSync(log, "w");
  const server = spawn(bin, ["serve", "--config", config], { env, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  let consoleServer = null;
  let context = null;
  const stop = async () => {
    await context?.close().catch(() => {});
    consoleServer?.close();
    if (server.exitCode === null && server.signalCode === null) {
      await new Promise((res) => {
        const kill = setTimeout(() => server.kill("SIGKILL"), 15_000);
        server.once("exit", () => {
          clearTimeout(kill);
          res();
        });
        server.kill("SIGTERM");
      });
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await waitReady(floeUrl, server, log);
    await floe(bin, ["materialize", "--config", config, "--server", floeUrl]);

    // Use the server's own /console/ when it serves one, else serve dist/ here.
    let consoleUrl = `${floeUrl}/console/`;
    const probe = await fetch(consoleUrl).then((r) => (r.ok ? r.text() : ""), () => "");
    if (!probe.includes('id="__nuxt"')) {
      consoleServer = await startConsoleServer(floeUrl);
      consoleUrl = `http://127.0.0.1:${consoleServer.address().port}/console/`;
    }

    mkdirSync(screenshots, { recursive: true });
    context = await chromium.launchPersistentContext(mkdtempSync(join(root, "chromium-")), {
      executablePath: chromiumPath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"],
      viewport: { width: 1280, height: 900 },
      timezoneId: "UTC",
    });
    return { consoleUrl, floeUrl, csv, before, after, context, log, served: consoleServer ? "static+proxy" : "floe", stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
