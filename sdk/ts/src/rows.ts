// Conversion of a GetOnlineFeaturesResponse (typed, column-major) into rows of
// {"view:feature": value}, the shape a table in the console renders.

import {
  FeatureStatus,
  type FeatureColumn,
  type GetOnlineFeaturesResponse,
} from "./gen/floe/v1/serving_pb.js";

/**
 * One feature value as the row helpers return it: int64 as bigint (protobuf-es
 * keeps 64-bit integers exact), double as number, timestamp as Date (millisecond
 * precision), float_vector as Float32Array.
 */
export type FeatureValue =
  | bigint
  | number
  | string
  | boolean
  | Date
  | Float32Array;

/** T with every property also allowed to be null (a value that is not usable). */
export type Nullable<T> = { [K in keyof T]: T[K] | null };

/** Options of {@link toRows}. */
export interface RowsOptions {
  /**
   * Keep values whose status is EXPIRED (older than the view's TTL) instead of
   * null. The server still sends such stale values; by default they are not
   * trusted.
   */
  keepExpired?: boolean;
  /**
   * Feature names the caller expects, in order, e.g. a generated service's
   * `features`. A different list means the server runs other specs than the
   * client was generated from, and toRows throws.
   */
  expect?: readonly string[];
}

/**
 * Decodes one column into one JS value per entity row, whatever each row's
 * status (slots that are not PRESENT or EXPIRED hold the type's zero value, as
 * sent). Throws if the column's length does not match rowCount.
 */
export function columnValues(column: FeatureColumn, rowCount: number): FeatureValue[] {
  const v = column.values;
  const check = (n: number): void => {
    if (n !== rowCount) {
      throw new Error(`floe: column ${column.name} has ${n} values for ${rowCount} rows`);
    }
  };
  switch (v.case) {
    case "int64Values":
    case "doubleValues":
    case "stringValues":
    case "boolValues":
      check(v.value.values.length);
      return [...v.value.values];
    case "timestampValues":
      check(v.value.unixMicros.length);
      // Date holds milliseconds; the micros below a millisecond are dropped.
      return v.value.unixMicros.map((us) => new Date(Number(us / 1000n)));
    case "floatVectorValues": {
      const { dim, values } = v.value;
      if (values.length !== rowCount * dim) {
        throw new Error(
          `floe: column ${column.name} has ${values.length} floats for ${rowCount} rows of dim ${dim}`,
        );
      }
      // One buffer for the column; each row is a view into it.
      const all = Float32Array.from(values);
      return Array.from({ length: rowCount }, (_, i) => all.subarray(i * dim, (i + 1) * dim));
    }
    case undefined:
      // An empty column may leave the oneof unset.
      check(0);
      return [];
  }
}

/**
 * Turns a response into one object per entity row, keyed by "view:feature" in
 * response order. A value is null unless its status is PRESENT (or EXPIRED with
 * keepExpired): unknown entities and null cells both come back as null, so read
 * `response.columns[j].statuses` to tell them apart.
 *
 * Pass a generated values interface to type the rows, e.g.
 * `toRows<PricingAgentV1Values>(res, { expect: pricingAgentV1.features })`.
 */
export function toRows<T extends object = Record<string, FeatureValue>>(
  response: GetOnlineFeaturesResponse,
  options: RowsOptions = {},
): Nullable<T>[] {
  const n = response.rowCount;
  const names = response.columns.map((c) => c.name);
  if (options.expect && names.join("\n") !== options.expect.join("\n")) {
    throw new Error(
      `floe: the server answered with features [${names.join(", ")}] but this code expects ` +
        `[${options.expect.join(", ")}]; the server runs other specs than the generated code ` +
        "(run `make generate`, or update the client)",
    );
  }
  const rows: Record<string, FeatureValue | null>[] = Array.from({ length: n }, () => ({}));
  for (const column of response.columns) {
    if (column.statuses.length !== n) {
      throw new Error(
        `floe: column ${column.name} has ${column.statuses.length} statuses for ${n} rows`,
      );
    }
    const values = columnValues(column, n);
    for (let i = 0; i < n; i++) {
      const status = column.statuses[i];
      const usable =
        status === FeatureStatus.PRESENT ||
        (options.keepExpired === true && status === FeatureStatus.EXPIRED);
      rows[i]![column.name] = usable ? values[i]! : null;
    }
  }
  return rows as Nullable<T>[];
}
