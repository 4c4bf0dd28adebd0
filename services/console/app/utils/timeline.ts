import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Snapshot } from "@floe/client";

/** One Iceberg commit of one view, a step of the time-travel timeline. */
export interface Commit {
  view: string;
  snapshotId: bigint;
  at: Date;
  operation: string;
  addedRecords: bigint;
}

/** Every view's snapshots merged into one timeline, oldest first. */
export function timelineOf(snapshotsByView: Record<string, Snapshot[]>): Commit[] {
  const out: Commit[] = [];
  for (const [view, snaps] of Object.entries(snapshotsByView)) {
    for (const s of snaps) {
      if (!s.committedAt) continue;
      out.push({ view, snapshotId: s.snapshotId, at: timestampDate(s.committedAt), operation: s.operation, addedRecords: s.addedRecords });
    }
  }
  return out.sort((a, b) => a.at.getTime() - b.at.getTime() || a.view.localeCompare(b.view));
}

/** Index of the last commit at or before t (-1: before every commit). */
export function commitIndexAt(commits: Commit[], t: Date): number {
  let idx = -1;
  commits.forEach((c, i) => {
    if (c.at.getTime() <= t.getTime()) idx = i;
  });
  return idx;
}
