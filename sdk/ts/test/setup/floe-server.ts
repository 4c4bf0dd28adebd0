// Global setup of the integration project: starts a real `floe serve` (FLOE_BIN,
// default <repo>/bin/floe) on the embedded default — SQLite Iceberg catalog and
// in-process online store in a temporary directory — with the pricing example
// data ingested and materialized, and stops it after the run.

import { execFile, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

const run = promisify(execFile);

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

// Upper bounds on each step; every wait below polls and returns as soon as it can.
const stepTimeoutMs = 180_000;
const readyTimeoutMs = 60_000;

declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the running server, e.g. http://127.0.0.1:PORT. */
    floeUrl: string;
    /** View name → the CSV file ingested into it. */
    floeCsvFiles: Record<string, string>;
    /** File the server's stdout and stderr go to. */
    floeLog: string;
  }
}

function floeBin(): string {
  const bin = process.env.FLOE_BIN || join(repo, "bin", "floe");
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(
      `floe binary not found at ${bin}: build it with ` +
        "`go build -o bin/floe ./services/featureserver/cmd/floe` from the repository root, " +
        "or set FLOE_BIN (unit tests alone: npx vitest run --project unit)",
    );
  }
  return bin;
}

function freePort(): Promise<number> {
  // The port is released before the server binds it; nothing on a test machine
  // races for ephemeral ports fast enough for that to matter.
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? res(addr.port) : rej(new Error("no port"))));
    });
  });
}

// FLOE_* variables override the config file; a developer's shell must not
// redirect the test server to their own data or port.
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FLOE_")));
}

async function floe(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await run(bin, args, { env, timeout: stepTimeoutMs, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`floe ${args.join(" ")} failed: ${e.message}\nstdout:\n${e.stdout ?? ""}\nstderr:\n${e.stderr ?? ""}`);
  }
}

async function waitReady(url: string, server: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`floe serve exited (${server.exitCode ?? server.signalCode}) before becoming ready; log:\n${readFileSync(log, "utf8")}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 50)); // poll interval, not a wait for an outcome
  }
  throw new Error(`floe serve not ready within ${readyTimeoutMs} ms (${last}); log:\n${readFileSync(log, "utf8")}`);
}

function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const kill = setTimeout(() => server.kill("SIGKILL"), 15_000);
    server.once("exit", () => {
      clearTimeout(kill);
      res();
    });
    server.kill("SIGTERM");
  });
}

/** Starts the server and provides its URL, CSV files and log to the tests. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bin = floeBin();
  const env = cleanEnv();
  const root = mkdtempSync(join(tmpdir(), "floe-ts-"));
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const url = `http://${address}`;
  const config = join(root, "floe.yaml");
  writeFileSync(
    config,
    [
      `listen: ${address}`,
      `specs: ${join(repo, "specs", "examples", "pricing")}`,
      `data_dir: ${join(root, "data")}`,
      "online:",
      "  type: memory",
      "",
    ].join("\n"),
  );

  const out = await floe(bin, ["example-data", "--project", "pricing", "--out", join(root, "csv")], env);
  const csvFiles: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^(\S+)\s+(.+)$/.exec(line.trim());
    if (m) csvFiles[m[1]!] = m[2]!;
  }
  for (const [view, path] of Object.entries(csvFiles)) {
    await floe(bin, ["ingest", "--config", config, "--view", view, "--file", path], env);
  }

  const log = join(root, "server.log");
  const fd = openSync(log, "w");
  const server = spawn(bin, ["serve", "--config", config], { env, stdio: ["ignore", fd, fd] });
  closeSync(fd); // the child holds its own copy
  try {
    await waitReady(url, server, log);
    await floe(bin, ["materialize", "--config", config, "--server", url], env);
  } catch (err) {
    await stop(server);
    throw err;
  }

  project.provide("floeUrl", url);
  project.provide("floeCsvFiles", csvFiles);
  project.provide("floeLog", log);
  return async () => {
    await stop(server);
    rmSync(root, { recursive: true, force: true });
  };
}
