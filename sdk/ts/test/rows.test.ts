// Unit tests of the row helper, on real messages after a wire round trip in both
// encodings the Connect transport may use.

import { create, fromBinary, fromJson, toBinary, toJson, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, expectTypeOf, it } from "vitest";

import {
  FeatureColumnSchema,
  FeatureStatus,
  GetOnlineFeaturesResponseSchema,
  ValueType,
  columnValues,
  toRows,
  type GetOnlineFeaturesResponse,
} from "../src/index.js";
import { pricingAgentV1, type PricingAgentV1Values } from "../src/features/pricing.js";

const { PRESENT, NOT_FOUND, EXPIRED, NULL } = FeatureStatus;

// 2026-01-02T03:04:05.006007Z in microseconds since the epoch.
const T0 = 1767323045006007n;

function response(): GetOnlineFeaturesResponse {
  return create(GetOnlineFeaturesResponseSchema, {
    rowCount: 3,
    registryVersion: "v1",
    columns: [
      {
        name: "p:age",
        valueType: ValueType.INT64,
        values: { case: "int64Values", value: { values: [41n, 0n, 9007199254740993n] } },
        statuses: [PRESENT, NOT_FOUND, PRESENT],
      },
      {
        name: "p:city",
        valueType: ValueType.STRING,
        values: { case: "stringValues", value: { values: ["Lyon", "", ""] } },
        statuses: [PRESENT, NOT_FOUND, NULL],
      },
      {
        name: "b:score",
        valueType: ValueType.DOUBLE,
        values: { case: "doubleValues", value: { values: [0.25, 0, 0.75] } },
        statuses: [PRESENT, NOT_FOUND, EXPIRED],
      },
      {
        name: "b:premium",
        valueType: ValueType.BOOL,
        values: { case: "boolValues", value: { values: [true, false, false] } },
        statuses: [PRESENT, NOT_FOUND, PRESENT],
      },
      {
        name: "p:updated",
        valueType: ValueType.TIMESTAMP,
        values: { case: "timestampValues", value: { unixMicros: [T0, 0n, T0] } },
        statuses: [PRESENT, NOT_FOUND, PRESENT],
      },
      {
        name: "b:embedding",
        valueType: ValueType.FLOAT_VECTOR,
        values: { case: "floatVectorValues", value: { dim: 2, values: [0.5, -1, 0, 0, 2, 4] } },
        statuses: [PRESENT, NOT_FOUND, PRESENT],
      },
    ],
  });
}

const wire = {
  binary: (r: GetOnlineFeaturesResponse) =>
    fromBinary(GetOnlineFeaturesResponseSchema, toBinary(GetOnlineFeaturesResponseSchema, r)),
  json: (r: GetOnlineFeaturesResponse) =>
    fromJson(GetOnlineFeaturesResponseSchema, toJson(GetOnlineFeaturesResponseSchema, r)),
};

describe.each(Object.entries(wire))("toRows after a %s round trip", (_, roundTrip) => {
  it("returns typed values keyed by feature name, in response order", () => {
    const rows = toRows(roundTrip(response()));
    expect(rows).toHaveLength(3);
    expect(Object.keys(rows[0]!)).toEqual(["p:age", "p:city", "b:score", "b:premium", "p:updated", "b:embedding"]);
    const first = rows[0]!;
    expect(first["p:age"]).toBe(41n);
    expect(first["p:city"]).toBe("Lyon");
    expect(first["b:score"]).toBe(0.25);
    expect(first["b:premium"]).toBe(true);
    expect(first["p:updated"]).toEqual(new Date("2026-01-02T03:04:05.006Z"));
    expect(first["b:embedding"]).toEqual(new Float32Array([0.5, -1]));
    // int64 stays exact beyond 2^53.
    expect(rows[2]!["p:age"]).toBe(9007199254740993n);
    expect(rows[2]!["b:embedding"]).toEqual(new Float32Array([2, 4]));
  });

  it("nulls values that are not found, null or expired", () => {
    const rows = toRows(roundTrip(response()));
    expect(Object.values(rows[1]!).every((v) => v === null)).toBe(true);
    expect(rows[2]!["p:city"]).toBeNull();
    expect(rows[2]!["b:score"]).toBeNull();
  });

  it("keeps expired values on request", () => {
    const rows = toRows(roundTrip(response()), { keepExpired: true });
    expect(rows[2]!["b:score"]).toBe(0.75);
    expect(rows[1]!["b:score"]).toBeNull();
  });
});

describe("toRows checks", () => {
  it("rejects a response that does not hold the expected features", () => {
    expect(() => toRows(response(), { expect: ["p:city", "p:age"] })).toThrow(/make generate/);
  });

  it("types rows with a generated values interface", () => {
    const sample: Record<string, MessageInitShape<typeof FeatureColumnSchema>["values"]> = {
      int64: { case: "int64Values", value: { values: [7n] } },
      double: { case: "doubleValues", value: { values: [1.5] } },
      string: { case: "stringValues", value: { values: ["Oslo"] } },
      bool: { case: "boolValues", value: { values: [true] } },
    };
    const res = create(GetOnlineFeaturesResponseSchema, {
      rowCount: 1,
      columns: pricingAgentV1.features.map((name) => ({
        name,
        values: sample[pricingAgentV1.valueTypes[name]],
        statuses: [PRESENT],
      })),
    });
    const [row] = toRows<PricingAgentV1Values>(res, { expect: pricingAgentV1.features });
    expectTypeOf(row!["user_profile:age"]).toEqualTypeOf<bigint | null>();
    expectTypeOf(row!["user_behavior:is_premium"]).toEqualTypeOf<boolean | null>();
    expect(row!["user_profile:age"]).toBe(7n);
    expect(row!["user_profile:city"]).toBe("Oslo");
    expect(row!["user_behavior:price_sensitivity"]).toBe(1.5);
    expect(row!["user_behavior:is_premium"]).toBe(true);
  });

  it("rejects columns of the wrong length", () => {
    const r = response();
    r.columns[0]!.statuses.push(PRESENT);
    expect(() => toRows(r)).toThrow(/4 statuses for 3 rows/);
    const v = response();
    v.columns[5]!.values = { case: "floatVectorValues", value: { $typeName: "floe.v1.FloatVectorList", dim: 2, values: [1] } };
    expect(() => toRows(v)).toThrow(/1 floats for 3 rows of dim 2/);
  });

  it("handles zero rows", () => {
    const r = create(GetOnlineFeaturesResponseSchema, {
      rowCount: 0,
      columns: [{ name: "v:a", valueType: ValueType.DOUBLE }],
    });
    expect(toRows(r)).toEqual([]);
    expect(columnValues(r.columns[0]!, 0)).toEqual([]);
  });
});
