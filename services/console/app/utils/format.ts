import {
  FeatureStatus,
  Tier,
  ValueType,
  columnValues,
  type FeatureColumn,
  type FeatureValue,
  type GetOnlineFeaturesResponse,
} from "@floe/client";

/** A timestamp as "2026-11-21 10:04:05 UTC" (the console shows UTC throughout). */
export function formatTime(d: Date | undefined | null): string {
  if (!d || Number.isNaN(d.getTime())) return "—";
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

/** Microseconds since the epoch (0: none) as a formatted time. */
export function formatMicros(us: bigint | undefined): string {
  if (us === undefined || us === 0n) return "—";
  return formatTime(new Date(Number(us / 1000n)));
}

/** A duration in seconds as "1 h 3 min", "42 s" or "0 s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60 ? `${s % 60} s` : ""}`.trim();
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60 ? `${m % 60} min` : ""}`.trim();
  const d = Math.floor(h / 24);
  return `${d} d ${h % 24 ? `${h % 24} h` : ""}`.trim();
}

export function formatValue(v: FeatureValue | null | undefined): string {
  if (v === null || v === undefined) return "—";
  if (v instanceof Date) return formatTime(v);
  if (v instanceof Float32Array) return `[${Array.from(v, (x) => Number(x.toPrecision(4))).join(", ")}]`;
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === "string") return v === "" ? '""' : v;
  return String(v);
}

export const statusLabels: Record<FeatureStatus, string> = {
  [FeatureStatus.UNSPECIFIED]: "unspecified",
  [FeatureStatus.PRESENT]: "present",
  [FeatureStatus.NOT_FOUND]: "not found",
  [FeatureStatus.EXPIRED]: "expired",
  [FeatureStatus.NULL]: "null",
  [FeatureStatus.UNAVAILABLE]: "unavailable",
  [FeatureStatus.FILLED]: "filled",
};

export const statusColors: Record<FeatureStatus, "success" | "neutral" | "warning" | "error" | "info"> = {
  [FeatureStatus.UNSPECIFIED]: "neutral",
  [FeatureStatus.PRESENT]: "success",
  [FeatureStatus.NOT_FOUND]: "neutral",
  [FeatureStatus.EXPIRED]: "warning",
  [FeatureStatus.NULL]: "info",
  [FeatureStatus.UNAVAILABLE]: "error",
  [FeatureStatus.FILLED]: "info",
};

export const tierLabels: Record<Tier, string> = {
  [Tier.UNSPECIFIED]: "—",
  [Tier.L1]: "L1 cache",
  [Tier.ONLINE]: "online store",
  [Tier.OFFLINE]: "Iceberg",
  [Tier.NONE]: "none",
};

export const valueTypeLabels: Record<ValueType, string> = {
  [ValueType.UNSPECIFIED]: "unspecified",
  [ValueType.INT64]: "int64",
  [ValueType.DOUBLE]: "double",
  [ValueType.STRING]: "string",
  [ValueType.BOOL]: "bool",
  [ValueType.TIMESTAMP]: "timestamp",
  [ValueType.FLOAT_VECTOR]: "float_vector",
};

/** A value type as specs write it, with a float_vector's dimension: "float_vector[4]". */
export function typeLabel(valueType: ValueType, dim = 0): string {
  return `${valueTypeLabels[valueType]}${dim ? `[${dim}]` : ""}`;
}

/** One feature of a single-entity answer, flattened for a table. */
export interface FeatureCell {
  /** The column's name: "view:feature", or a feature service's output name. */
  name: string;
  /** The "view:feature" the value was read from. */
  ref: string;
  view: string;
  feature: string;
  valueType: ValueType;
  status: FeatureStatus;
  /** The value as sent (also for EXPIRED), null when the status carries none. */
  value: FeatureValue | null;
  eventTimeMicros: bigint;
  snapshotId: bigint;
  tier: Tier;
}

/**
 * Flattens row `row` of a response into one cell per feature, in response
 * order. `refs` gives the "view:feature" behind each column when columns carry
 * other names (a feature service that renames or transforms its inputs answers
 * with its own output names); by default the column name is the reference.
 */
export function cellsOf(res: GetOnlineFeaturesResponse, row = 0, refs: readonly string[] = []): FeatureCell[] {
  const views = new Map(res.views.map((v) => [v.view, v]));
  return res.columns.map((c: FeatureColumn, i) => {
    const ref = c.name.includes(":") ? c.name : (refs[i] ?? c.name);
    const [view = "", feature = ref] = ref.split(":");
    const status = c.statuses[row] ?? FeatureStatus.UNSPECIFIED;
    const hasValue = status === FeatureStatus.PRESENT || status === FeatureStatus.EXPIRED;
    const vr = views.get(view);
    return {
      name: c.name,
      ref,
      view,
      feature,
      valueType: c.valueType,
      status,
      value: hasValue ? (columnValues(c, res.rowCount)[row] ?? null) : null,
      eventTimeMicros: vr?.eventTimeUnixMicros[row] ?? 0n,
      snapshotId: vr?.snapshotIds[row] ?? 0n,
      tier: vr?.tiers[row] ?? Tier.UNSPECIFIED,
    };
  });
}
