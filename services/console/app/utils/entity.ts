import {
  ValueType,
  type AsOf,
  type EntityColumn,
  type FeatureService,
  type FeatureView,
  type GetRegistryResponse,
  type JoinKey,
} from "@floe/client";
import { create } from "@bufbuild/protobuf";
import {
  AsOfSchema,
  EntityColumnSchema,
  FeatureRefsSchema,
  Int64ListSchema,
  StringListSchema,
  ViewSnapshotsSchema,
} from "@floe/client";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { formatTime } from "./format";

/** What the inspector and time travel read: an entity type, a selection, ids. */
export interface EntitySelection {
  entity: string;
  /** Feature service name; "" means every feature of the entity's views. */
  service: string;
  /** Join key name → the id typed by the user. */
  keys: Record<string, string>;
}

/** Services that read at least one view of the entity. */
export function servicesFor(reg: GetRegistryResponse, entity: string): FeatureService[] {
  const viewEntity = new Map(reg.featureViews.map((v) => [v.name, v.entity]));
  return reg.featureServices.filter((s) => s.features.some((f) => viewEntity.get(viewOf(f)) === entity));
}

export function viewOf(ref: string): string {
  return ref.split(":")[0] ?? ref;
}

/** The feature views a selection reads, in first-use order. */
export function viewsOf(reg: GetRegistryResponse, sel: Pick<EntitySelection, "entity" | "service">): FeatureView[] {
  const byName = new Map(reg.featureViews.map((v) => [v.name, v]));
  if (sel.service) {
    const svc = reg.featureServices.find((s) => s.name === sel.service);
    if (!svc) return [];
    const names = [...new Set(svc.features.map(viewOf))];
    return names.map((n) => byName.get(n)).filter((v): v is FeatureView => v !== undefined);
  }
  return reg.featureViews.filter((v) => v.entity === sel.entity);
}

/** The join keys a selection needs, the selected entity's first. */
export function joinKeysOf(reg: GetRegistryResponse, sel: Pick<EntitySelection, "entity" | "service">): JoinKey[] {
  const entities = new Map(reg.entities.map((e) => [e.name, e]));
  const order = [sel.entity, ...viewsOf(reg, sel).map((v) => v.entity)];
  const seen = new Set<string>();
  const keys: JoinKey[] = [];
  for (const name of order) {
    for (const k of entities.get(name)?.joinKeys ?? []) {
      if (!seen.has(k.name)) {
        seen.add(k.name);
        keys.push(k);
      }
    }
  }
  return keys;
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** Why an id cannot be sent, or null when it can. */
export function idProblem(key: JoinKey, raw: string | undefined): string | null {
  const v = raw ?? "";
  if (v.trim() === "") return `${key.name} is empty`;
  if (key.valueType === ValueType.INT64) {
    if (!/^-?\d+$/.test(v.trim())) return `“${v}” is not a valid ${key.name}: expected an integer (int64)`;
    const n = BigInt(v.trim());
    if (n < int64Min || n > int64Max) return `“${v}” is not a valid ${key.name}: out of the int64 range`;
  }
  return null;
}

/** The request's entity columns (one row) for the given keys. */
export function entityColumns(keys: JoinKey[], values: Record<string, string>): EntityColumn[] {
  return keys.map((k) =>
    create(EntityColumnSchema, {
      joinKey: k.name,
      values:
        k.valueType === ValueType.INT64
          ? { case: "int64Values", value: create(Int64ListSchema, { values: [BigInt((values[k.name] ?? "").trim())] }) }
          : { case: "stringValues", value: create(StringListSchema, { values: [values[k.name] ?? ""] }) },
    }),
  );
}

/** The request's selector: the service, or every feature of the entity's views. */
export function selectorOf(reg: GetRegistryResponse, sel: EntitySelection) {
  if (sel.service) return { case: "featureService" as const, value: sel.service };
  const refs = viewsOf(reg, sel).flatMap((v) => v.features.map((f) => `${v.name}:${f.name}`));
  return { case: "features" as const, value: create(FeatureRefsSchema, { refs }) };
}

/** The "view:feature" references a selection reads, in column order. */
export function refsOf(reg: GetRegistryResponse, sel: EntitySelection): string[] {
  const s = selectorOf(reg, sel);
  if (s.case === "features") return s.value.refs;
  return reg.featureServices.find((x) => x.name === s.value)?.features ?? [];
}

/** A point in time as the console's URLs carry it: an instant or pinned snapshots. */
export type Point =
  | { kind: "time"; time: Date }
  | { kind: "snapshots"; snapshots: Record<string, bigint> };

/**
 * Parses a point from a query value: an ISO-8601 instant
 * ("2026-11-21T10:00:00Z") or "snapshots:view=id,view=id". Returns null for an
 * absent or unreadable value.
 */
export function parsePoint(raw: unknown): Point | null {
  if (typeof raw !== "string" || raw === "") return null;
  if (raw.startsWith("snapshots:")) {
    const snapshots: Record<string, bigint> = {};
    for (const part of raw.slice("snapshots:".length).split(",")) {
      const m = /^([^=]+)=(-?\d+)$/.exec(part);
      if (!m) return null;
      snapshots[m[1]!] = BigInt(m[2]!);
    }
    return Object.keys(snapshots).length ? { kind: "snapshots", snapshots } : null;
  }
  const t = new Date(raw);
  return Number.isNaN(t.getTime()) ? null : { kind: "time", time: t };
}

export function formatPoint(p: Point): string {
  if (p.kind === "time") return p.time.toISOString().replace(".000Z", "Z");
  return "snapshots:" + Object.entries(p.snapshots).map(([v, id]) => `${v}=${id}`).join(",");
}

export function describePoint(p: Point | null): string {
  if (!p) return "now";
  if (p.kind === "time") return formatTime(p.time);
  return Object.entries(p.snapshots).map(([v, id]) => `${v} @ ${id}`).join(", ");
}

export function asOfOf(p: Point): AsOf {
  if (p.kind === "time") return create(AsOfSchema, { point: { case: "time", value: timestampFromDate(p.time) } });
  return create(AsOfSchema, {
    point: { case: "snapshots", value: create(ViewSnapshotsSchema, { snapshotIds: p.snapshots }) },
  });
}

/** "2026-11-21T10:00:05" (a datetime-local value, read as UTC) → Date. */
export function fromLocalInput(v: string): Date | null {
  if (!v) return null;
  const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Date → a datetime-local value in UTC, to the second. */
export function toLocalInput(d: Date | null | undefined): string {
  if (!d) return "";
  return d.toISOString().slice(0, 19);
}

/** Selection from a route query (entity, service and one parameter per join key). */
export function selectionFromQuery(q: Record<string, unknown>): EntitySelection {
  const str = (v: unknown) => (typeof v === "string" ? v : Array.isArray(v) && typeof v[0] === "string" ? v[0] : "");
  const keys: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) {
    if (!reserved.has(k)) keys[k] = str(v);
  }
  return { entity: str(q.entity), service: str(q.service), keys };
}

const reserved = new Set(["entity", "service", "at", "from", "to"]);

/** Query for a selection: only the keys the selection needs. */
export function queryOf(sel: EntitySelection, keys: JoinKey[]): Record<string, string> {
  const q: Record<string, string> = { entity: sel.entity };
  if (sel.service) q.service = sel.service;
  for (const k of keys) q[k.name] = sel.keys[k.name] ?? "";
  return q;
}
