import type { FeatureService, FeatureView, FitInfo, GetRegistryResponse } from "@floe/client";
import { viewOf } from "./entity";
import { formatDuration } from "./format";

/** One line of lineage: the Iceberg table a view reads and the services reading it. */
export interface LineageRow {
  table: string;
  view: FeatureView;
  services: FeatureService[];
}

export function lineageOf(reg: GetRegistryResponse): LineageRow[] {
  return reg.featureViews
    .map((view) => ({
      table: view.sourceTable,
      view,
      services: reg.featureServices.filter((s) => s.features.some((f) => viewOf(f) === view.name)),
    }))
    .sort((a, b) => a.table.localeCompare(b.table) || a.view.name.localeCompare(b.view.name));
}

export function formatTtl(seconds: bigint): string {
  return seconds === 0n ? "never expires" : formatDuration(Number(seconds));
}

/** An Iceberg table a fit read, the snapshot it read, and a view of the table (for links). */
export interface FitSnapshot {
  table: string;
  snapshotId: bigint;
  /** A feature view reading the table; undefined when none does. */
  view?: string;
}

/** The snapshots behind a service's fitted parameters, in table order. */
export function fitSnapshotsOf(reg: GetRegistryResponse, fit: FitInfo): FitSnapshot[] {
  return Object.entries(fit.snapshots)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([table, snapshotId]) => ({ table, snapshotId, view: reg.featureViews.find((v) => v.sourceTable === table)?.name }));
}

/** The floe fit command that refits on the same snapshots (see README, "floe fit"). */
export function refitCommand(snapshots: FitSnapshot[]): string {
  return ["floe fit", ...snapshots.map((s) => `--snapshot ${s.table}=${s.snapshotId}`)].join(" ");
}
