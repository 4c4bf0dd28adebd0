// The packed package (`npm pack`, as `make dist-ts` builds it) installs into a new
// project and works there: its ES modules load in Node, its type declarations
// compile a typed consumer with tsc, and a read reaches the test server.
// `make test-dist` runs it with FLOE_DIST naming the directory of the tarball;
// without FLOE_DIST it is skipped.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";

import packageJson from "../package.json" with { type: "json" };

const dist = process.env.FLOE_DIST;
const here = dirname(fileURLToPath(import.meta.url));
const tsc = join(here, "..", "node_modules", "typescript", "bin", "tsc");

// A consumer as a user writes it; the @ts-expect-error lines fail the compile if
// the declarations were missing or untyped (an `any` accepts everything).
const consumer = `
import { createFloeClient, toRows, Code, ConnectError } from "@floe/client";
import { pricingAgentV1, type PricingAgentV1Values } from "@floe/client/features/pricing";
import { fraud } from "@floe/client/features";
import { GetOnlineFeaturesRequestSchema } from "@floe/client/gen/floe/v1/serving_pb";

export async function ages(url: string): Promise<(bigint | null)[]> {
  const floe = createFloeClient(url);
  const res = await floe.serving.getOnlineFeatures({
    selector: { case: "featureService", value: pricingAgentV1.name },
    entities: [{ joinKey: "user_id", values: { case: "int64Values", value: { values: [42n] } } }],
  });
  const rows = toRows<PricingAgentV1Values>(res, { expect: pricingAgentV1.features });
  // @ts-expect-error a base URL is a string
  createFloeClient(8080);
  // @ts-expect-error the generated values interface has no such feature
  rows[0]?.["no_such_view:feature"];
  const code: Code = Code.NotFound;
  void code, ConnectError, GetOnlineFeaturesRequestSchema, fraud;
  return rows.map((r) => r["user_profile:age"]);
}
`;

const script = `
import { createFloeClient, toRows } from "@floe/client";
import { pricing } from "@floe/client/features";
const { pricingAgentV1 } = pricing;
const floe = createFloeClient(process.argv[2]);
const res = await floe.serving.getOnlineFeatures({
  selector: { case: "featureService", value: pricingAgentV1.name },
  entities: [{ joinKey: "user_id", values: { case: "int64Values", value: { values: [42n, 7n] } } }],
});
const rows = toRows(res, { expect: pricingAgentV1.features });
console.log(JSON.stringify({ rows: rows.length, age: String(rows[0]["user_profile:age"]) }));
`;

/** Runs a command in dir; a failure reports what it printed. */
function run(cmd: string, args: string[], dir: string): string {
  try {
    return execFileSync(cmd, args, { cwd: dir, stdio: "pipe" }).toString();
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
    throw new Error(`${cmd} ${args.join(" ")}: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

describe.skipIf(!dist)("the packed @floe/client", () => {
  const project = mkdtempSync(join(tmpdir(), "floe-client-consumer-"));
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it("installs, type-checks a consumer and reads from the server", () => {
    const tarballs = readdirSync(dist!).filter((f) => f.endsWith(".tgz"));
    const want = `floe-client-${packageJson.version}.tgz`;
    expect(tarballs).toEqual([want]);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(dist!, want)], project);
    const list = run("npm", ["ls", "--all", "--parseable"], project);
    expect(list).not.toContain("typescript"); // no build tools come along

    writeFileSync(join(project, "consumer.ts"), consumer);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022", "DOM"],
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ["consumer.ts"],
      }),
    );
    run(process.execPath, [tsc, "-p", project], project);

    writeFileSync(join(project, "read.mjs"), script);
    const out = run(process.execPath, ["read.mjs", inject("floeUrl")], project);
    const got = JSON.parse(out) as { rows: number; age: string };
    expect(got.rows).toBe(2);
    expect(got.age).toMatch(/^\d+$/);
  });
});
