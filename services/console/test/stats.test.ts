import { create } from "@bufbuild/protobuf";
import { GetServingStatsResponseSchema } from "@floe/client";
import { describe, expect, it } from "vitest";
import { quantile, windowBetween } from "~/utils/stats";
import { servingStats } from "./fixtures";

describe("serving statistics", () => {
  it("interpolates quantiles inside buckets like histogram_quantile", () => {
    const bounds = [0.001, 0.01, Infinity];
    expect(quantile(0.5, bounds, [50, 100, 100])).toBeCloseTo(0.001);
    expect(quantile(0.75, bounds, [50, 100, 100])).toBeCloseTo(0.0055);
    expect(quantile(0.99, bounds, [0, 0, 10])).toBe(0.01); // in +Inf: the highest finite bound
    expect(quantile(0.5, bounds, [0, 0, 0])).toBeNull();
  });

  it("reads counters that went down as a restart", () => {
    const prev = create(GetServingStatsResponseSchema, servingStats(10));
    const cur = create(GetServingStatsResponseSchema, { ...servingStats(1), at: servingStats(11).at });
    const w = windowBetween(prev, cur, "/floe.v1.ServingService/");
    expect(w.requests).toBe(20);
    expect(w.valuesByTier.l1).toBe(60);
  });
});
