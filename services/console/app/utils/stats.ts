// Serving statistics derived from two cumulative GetServingStats answers, the way
// Prometheus derives rate() and histogram_quantile() from counters.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { GetServingStatsResponse, MethodStats } from "@floe/client";

/** The quantities one polling interval yields. */
export interface StatsWindow {
  /** End of the window. */
  at: Date;
  /** Window length in seconds. */
  seconds: number;
  /** Calls answered in the window. */
  requests: number;
  requestsPerSecond: number;
  /** Latency quantiles in milliseconds; null when no call fell in the window. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Feature values served per tier in the window, and their share (0..1). */
  valuesByTier: Record<string, number>;
  hitRatioByTier: Record<string, number>;
  /** Failed calls per code in the window. */
  errorsByCode: Record<string, number>;
  errors: number;
}

const tiers = ["l1", "online", "offline", "none"];

function sampleTime(s: GetServingStatsResponse, fallback: Date): Date {
  return s.at ? timestampDate(s.at) : fallback;
}

/**
 * Methods matching a filter: "" or "all" for every method, a prefix ending in
 * "/" for a service ("/floe.v1.ServingService/"), else one full method name.
 */
export function selectMethods(s: GetServingStatsResponse, filter: string): MethodStats[] {
  if (!filter || filter === "all") return s.methods;
  if (filter.endsWith("/")) return s.methods.filter((m) => m.method.startsWith(filter));
  return s.methods.filter((m) => m.method === filter);
}

/**
 * Estimates quantile q (0..1) from cumulative bucket counts, interpolating
 * linearly inside the bucket as histogram_quantile does. Returns seconds, or
 * null for an empty histogram. A quantile in the +Inf bucket answers the highest
 * finite bound.
 */
export function quantile(q: number, bounds: number[], cumulative: number[]): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total <= 0 || bounds.length === 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    const c = cumulative[i] ?? 0;
    if (c >= rank) {
      const upper = bounds[i]!;
      const lower = i === 0 ? 0 : bounds[i - 1]!;
      if (!Number.isFinite(upper)) return lower;
      const prev = i === 0 ? 0 : (cumulative[i - 1] ?? 0);
      const inBucket = c - prev;
      if (inBucket <= 0) return upper;
      return lower + (upper - lower) * ((rank - prev) / inBucket);
    }
  }
  return bounds[bounds.length - 2] ?? null;
}

/**
 * The window between two answers for the methods matching `method`. Counters
 * that went down (a server restart) are read as starting from zero.
 */
export function windowBetween(prev: GetServingStatsResponse, cur: GetServingStatsResponse, method = "", now = new Date()): StatsWindow {
  const t0 = sampleTime(prev, now);
  const t1 = sampleTime(cur, now);
  const seconds = Math.max((t1.getTime() - t0.getTime()) / 1000, 1e-3);
  const before = new Map(selectMethods(prev, method).map((m) => [m.method, m]));
  const delta = (a: bigint, b: bigint | undefined) => {
    const d = a - (b ?? 0n);
    return Number(d >= 0n ? d : a);
  };

  let requests = 0;
  let errors = 0;
  const errorsByCode: Record<string, number> = {};
  // Buckets are merged across methods by bound; every method shares the
  // server's bounds, but a method with other bounds is merged bound by bound.
  const merged = new Map<number, number>();
  for (const m of selectMethods(cur, method)) {
    const p = before.get(m.method);
    const restarted = p !== undefined && m.count < p.count;
    const base = restarted ? undefined : p;
    requests += delta(m.count, base?.count);
    for (const [code, n] of Object.entries(m.errorsByCode)) {
      const d = delta(n, base?.errorsByCode[code]);
      if (d > 0) {
        errorsByCode[code] = (errorsByCode[code] ?? 0) + d;
        errors += d;
      }
    }
    m.bucketUpperBounds.forEach((bound, i) => {
      const d = delta(m.bucketCounts[i] ?? 0n, base?.bucketCounts[i]);
      merged.set(bound, (merged.get(bound) ?? 0) + d);
    });
  }
  const bounds = [...merged.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((b) => merged.get(b) ?? 0);
  const p50 = quantile(0.5, bounds, cumulative);
  const p99 = quantile(0.99, bounds, cumulative);

  const valuesByTier: Record<string, number> = {};
  const tierNames = new Set([...tiers, ...Object.keys(cur.valuesByTier)]);
  let values = 0;
  const restartedTiers = Object.entries(cur.valuesByTier).some(([t, n]) => n < (prev.valuesByTier[t] ?? 0n));
  for (const t of tierNames) {
    const d = delta(cur.valuesByTier[t] ?? 0n, restartedTiers ? undefined : prev.valuesByTier[t]);
    valuesByTier[t] = d;
    values += d;
  }
  const hitRatioByTier: Record<string, number> = {};
  for (const t of tierNames) hitRatioByTier[t] = values > 0 ? (valuesByTier[t] ?? 0) / values : 0;

  return {
    at: t1,
    seconds,
    requests,
    requestsPerSecond: requests / seconds,
    p50Ms: p50 === null ? null : p50 * 1000,
    p99Ms: p99 === null ? null : p99 * 1000,
    valuesByTier,
    hitRatioByTier,
    errorsByCode,
    errors,
  };
}
