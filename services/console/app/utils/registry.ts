import type { FeatureService, FeatureView, GetRegistryResponse } from "@floe/client";
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
