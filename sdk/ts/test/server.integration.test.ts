// Integration tests against the real server started by test/setup/floe-server.ts,
// loaded with the pricing example. Expectations come from the CSV files the server
// ingested: for each user the latest row by event time, an empty cell a null.

import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, inject, it, onTestFailed } from "vitest";

import {
  Code,
  ConnectError,
  FeatureStatus,
  Tier,
  createFloeClient,
  toRows,
  type FeatureValue,
  type GetOnlineFeaturesResponse,
} from "../src/index.js";
import { pricingAgentV1, type PricingAgentV1Values } from "../src/features/pricing.js";

const url = inject("floeUrl");
const csvFiles = inject("floeCsvFiles");
const UNKNOWN_USER = 987_654_321n;

beforeEach(() => {
  onTestFailed(() => {
    console.error(`floe server log (${inject("floeLog")}):\n${readFileSync(inject("floeLog"), "utf8")}`);
  });
});

/** Parses RFC 4180 CSV (quoted fields may hold commas and doubled quotes). */
function parseCsv(text: string): Record<string, string>[] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else {
      field += c;
    }
  }
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  const [header, ...rows] = records;
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ""])));
}

/** The latest row of each user in a view's CSV, by event_time. */
function latestRows(view: string): Map<bigint, Record<string, string>> {
  const latest = new Map<bigint, Record<string, string>>();
  for (const row of parseCsv(readFileSync(csvFiles[view]!, "utf8"))) {
    const id = BigInt(row.user_id!);
    const prev = latest.get(id);
    if (!prev || Date.parse(row.event_time!) > Date.parse(prev.event_time!)) latest.set(id, row);
  }
  return latest;
}

/** A CSV cell as the value toRows should return for a pricing_agent_v1 feature. */
function expectedValue(feature: keyof typeof pricingAgentV1.valueTypes, cell: string): FeatureValue {
  switch (pricingAgentV1.valueTypes[feature]) {
    case "int64":
      return BigInt(cell);
    case "double":
      return Number(cell);
    case "bool":
      return cell === "true";
    case "string":
      return cell;
  }
}

function statusOf(res: GetOnlineFeaturesResponse, feature: string, row: number): FeatureStatus {
  return res.columns.find((c) => c.name === feature)!.statuses[row]!;
}

describe.each([
  ["JSON", false],
  ["binary", true],
])("Connect %s", (_, useBinaryFormat) => {
  const client = createFloeClient(url, { useBinaryFormat });
  const expected = { user_profile: latestRows("user_profile"), user_behavior: latestRows("user_behavior") };

  it("serves pricing_agent_v1 as the CSVs' latest rows, in spec order", async () => {
    const users = [...expected.user_profile.keys()].filter((id) => expected.user_behavior.has(id));
    users.sort((a, b) => (a < b ? -1 : 1));
    expect(users.length).toBeGreaterThan(100);
    const res = await client.serving.getOnlineFeatures({
      selector: { case: "featureService", value: pricingAgentV1.name },
      entities: [{ joinKey: "user_id", values: { case: "int64Values", value: { values: users } } }],
    });
    expect(res.rowCount).toBe(users.length);
    expect(res.columns.map((c) => c.name)).toEqual([...pricingAgentV1.features]);

    const rows = toRows<PricingAgentV1Values>(res, { expect: pricingAgentV1.features });
    let nulls = 0;
    users.forEach((id, i) => {
      for (const feature of pricingAgentV1.features) {
        const [view, name] = feature.split(":") as ["user_profile" | "user_behavior", string];
        const cell = expected[view].get(id)![name]!;
        if (cell === "") {
          nulls++;
          expect(statusOf(res, feature, i), `${feature} of user ${id}`).toBe(FeatureStatus.NULL);
          expect(rows[i]![feature]).toBeNull();
        } else {
          expect(statusOf(res, feature, i), `${feature} of user ${id}`).toBe(FeatureStatus.PRESENT);
          expect(rows[i]![feature], `${feature} of user ${id}`).toEqual(expectedValue(feature, cell));
        }
      }
    });
    expect(nulls).toBeGreaterThan(0);

    for (const v of res.views) {
      const view = v.view as keyof typeof expected;
      expect(v.eventTimeUnixMicros).toEqual(
        users.map((id) => BigInt(Date.parse(expected[view].get(id)!.event_time!)) * 1000n),
      );
      expect(v.snapshotIds.every((s) => s !== 0n)).toBe(true);
      expect(v.tiers.every((t) => t === Tier.ONLINE || t === Tier.L1)).toBe(true);
    }
  });

  it("reports an unknown user as NOT_FOUND, not as an error", async () => {
    const res = await client.serving.getOnlineFeatures({
      selector: { case: "featureService", value: pricingAgentV1.name },
      entities: [{ joinKey: "user_id", values: { case: "int64Values", value: { values: [1n, UNKNOWN_USER] } } }],
    });
    for (const c of res.columns) expect(c.statuses[1]).toBe(FeatureStatus.NOT_FOUND);
    const rows = toRows(res);
    expect(Object.values(rows[1]!).every((v) => v === null)).toBe(true);
    for (const v of res.views) {
      expect(v.eventTimeUnixMicros[1]).toBe(0n);
      expect(v.snapshotIds[1]).toBe(0n);
    }
  });

  it("serves vectors and timestamps by feature reference", async () => {
    const res = await client.serving.getOnlineFeatures({
      selector: { case: "features", value: { refs: ["user_behavior:embedding", "user_profile:last_updated"] } },
      entities: [{ joinKey: "user_id", values: { case: "int64Values", value: { values: [1n, 2n, 3n] } } }],
    });
    const rows = toRows(res);
    [1n, 2n, 3n].forEach((id, i) => {
      const emb = expected.user_behavior.get(id)!.embedding!;
      if (emb === "") {
        expect(rows[i]!["user_behavior:embedding"]).toBeNull();
      } else {
        const want = Float32Array.from(emb.replace(/[[\]]/g, "").split(",").map(Number));
        expect(rows[i]!["user_behavior:embedding"]).toEqual(want);
      }
      const updated = expected.user_profile.get(id)!.last_updated!;
      if (updated !== "") {
        // The CSV writes this column as "YYYY-MM-DD hh:mm:ss" in UTC.
        expect(rows[i]!["user_profile:last_updated"]).toEqual(new Date(updated.replace(" ", "T") + "Z"));
      }
    });
  });

  it("rejects an unknown feature service with InvalidArgument naming it", async () => {
    const err = await client.serving
      .getOnlineFeatures({
        selector: { case: "featureService", value: "no_such_service" },
        entities: [{ joinKey: "user_id", values: { case: "int64Values", value: { values: [1n] } } }],
      })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("no_such_service");
  });

  it("returns the registry the server runs", async () => {
    const reg = await client.registry.getRegistry({});
    const svc = reg.featureServices.find((s) => s.name === pricingAgentV1.name);
    expect(svc?.features).toEqual([...pricingAgentV1.features]);
    expect(reg.featureViews.map((v) => v.name).sort()).toEqual(["user_behavior", "user_profile"]);
    const embedding = reg.featureViews
      .find((v) => v.name === "user_behavior")!
      .features.find((f) => f.name === "embedding");
    expect(embedding?.dim).toBe(4);
    const res = await client.serving.getOnlineFeatures({
      selector: { case: "featureService", value: pricingAgentV1.name },
      entities: [{ joinKey: "user_id", values: { case: "int64Values", value: { values: [1n] } } }],
    });
    expect(res.registryVersion).toBe(reg.version);
  });
});
