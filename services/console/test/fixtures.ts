// The pricing example as a fake server answers it: registry, rows per user id,
// snapshots, freshness and serving counters.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  FeatureServiceSchema,
  FeatureStatus,
  GetOnlineFeaturesResponseSchema,
  GetRegistryResponseSchema,
  MaterializerStatus_Role,
  Tier,
  ValueType,
  type DiffFeaturesRequest,
  type GetOnlineFeaturesRequest,
  type GetOnlineFeaturesResponse,
} from "@floe/client";

export const registry = create(GetRegistryResponseSchema, {
  version: "3f9a1c2e7b44",
  entities: [
    { name: "user", description: "A shopper.", joinKeys: [{ name: "user_id", valueType: ValueType.INT64 }], location: { file: "specs/examples/pricing/pricing.yaml", line: 6 } },
    { name: "card", description: "A payment card.", joinKeys: [{ name: "card_id", valueType: ValueType.STRING }] },
  ],
  featureViews: [
    {
      name: "user_profile", description: "Slow-changing profile attributes.", entity: "user", sourceTable: "pricing.user_profile",
      eventTimeColumn: "event_time", ttlSeconds: 365n * 86400n,
      features: [{ name: "age", valueType: ValueType.INT64 }, { name: "city", valueType: ValueType.STRING }],
    },
    {
      name: "user_behavior", description: "Rolling behaviour aggregates.", entity: "user", sourceTable: "pricing.user_behavior",
      eventTimeColumn: "event_time", ttlSeconds: 7n * 86400n,
      features: [
        { name: "sessions_7d", valueType: ValueType.INT64 },
        { name: "price_sensitivity", valueType: ValueType.DOUBLE, description: "Elasticity estimate." },
      ],
    },
    {
      name: "card_activity", description: "Spending aggregates per card.", entity: "card", sourceTable: "fraud.card_activity",
      eventTimeColumn: "event_time", ttlSeconds: 2n * 86400n,
      features: [{ name: "txn_count_1h", valueType: ValueType.INT64 }],
    },
  ],
  featureServices: [
    {
      name: "pricing_agent_v1", description: "Observation vector of the pricing agent.",
      features: ["user_profile:age", "user_profile:city", "user_behavior:sessions_7d", "user_behavior:price_sensitivity"],
      outputs: [
        { name: "user_profile:age", ref: "user_profile:age", valueType: ValueType.INT64 },
        { name: "user_profile:city", ref: "user_profile:city", valueType: ValueType.STRING },
        { name: "user_behavior:sessions_7d", ref: "user_behavior:sessions_7d", valueType: ValueType.INT64 },
        { name: "user_behavior:price_sensitivity", ref: "user_behavior:price_sensitivity", valueType: ValueType.DOUBLE },
      ],
    },
  ],
});

/** A vocabulary as long as a fitted lookup's (max_tokens) can make it. */
export const longVocabulary = Array.from({ length: 60 }, (_, i) => `city_${String(i).padStart(2, "0")}`);

/**
 * Services with transforms, as the server lists them: pricing_agent_v2 with
 * written parameters, pricing_agent_v3 with fitted ones and their lock. Kept out
 * of `registry` so the other pages' fixtures stay as they are.
 */
export const transformedServices = [
  create(FeatureServiceSchema, {
    name: "pricing_agent_v2", description: "The pricing agent's inputs, preprocessed.",
    features: ["user_profile:city", "user_behavior:sessions_7d", "user_behavior:price_sensitivity"],
    outputs: [
      { name: "city_index", ref: "user_profile:city", valueType: ValueType.INT64, transform: ['fill_null(value="")', 'lookup(vocabulary=["Lyon" "Oslo"],oov_buckets=1)'] },
      { name: "sessions_7d_log", ref: "user_behavior:sessions_7d", valueType: ValueType.DOUBLE, transform: ["clip(min=0,max=100)", "log1p"] },
      { name: "user_behavior:price_sensitivity", ref: "user_behavior:price_sensitivity", valueType: ValueType.DOUBLE },
    ],
  }),
  create(FeatureServiceSchema, {
    name: "pricing_agent_v3", description: "The pricing agent's inputs, with fitted preprocessing.",
    features: ["user_behavior:price_sensitivity", "user_profile:city", "user_profile:age"],
    outputs: [
      { name: "price_sensitivity_z", ref: "user_behavior:price_sensitivity", valueType: ValueType.DOUBLE, transform: ["clip(min=0,max=1)", "standardize(mean=0.4,std=0.2)"], fittedSteps: [1] },
      {
        name: "city_onehot", ref: "user_profile:city", valueType: ValueType.FLOAT_VECTOR, dim: 62,
        transform: [`lookup(vocabulary=[${longVocabulary.map((c) => `"${c}"`).join(" ")}],oov_buckets=1)`, "one_hot(depth=62)"], fittedSteps: [0],
      },
      { name: "user_profile:age", ref: "user_profile:age", valueType: ValueType.INT64 },
    ],
    location: { file: "specs/pricing/pricing.yaml", line: 80 },
    fit: {
      lockFile: "specs/pricing/pricing.lock.yaml",
      fittedAt: timestampFromDate(new Date("2026-11-22T01:56:20Z")),
      snapshots: { "pricing.user_profile": 101n, "pricing.user_behavior": 5317280425789149063n },
    },
  }),
];

/** The registry with the transformed services added. */
export function registryWithTransforms() {
  const { version, entities, featureViews, featureServices } = registry;
  return create(GetRegistryResponseSchema, { version, entities, featureViews, featureServices: [...featureServices, ...transformedServices] });
}

export const t0 = new Date("2026-11-21T08:00:00Z");
export const t1 = new Date("2026-11-21T09:00:00Z");
export const t2 = new Date("2026-11-21T10:00:00Z");

interface Row {
  eventTime: Date;
  snapshotId: bigint;
  tier: Tier;
  values: Record<string, bigint | number | string | null>;
  status?: FeatureStatus;
}
type Data = Record<string, Record<string, Row>>; // view → id → row

/** The latest rows per view and id (what "now" answers). */
export const now: Data = {
  user_profile: {
    "42": { eventTime: t0, snapshotId: 101n, tier: Tier.ONLINE, values: { age: 31n, city: "Lyon" } },
    "7": { eventTime: t0, snapshotId: 101n, tier: Tier.L1, values: { age: 55n, city: "Oslo" } },
  },
  user_behavior: {
    "42": { eventTime: t2, snapshotId: 202n, tier: Tier.ONLINE, values: { sessions_7d: 12n, price_sensitivity: 0.42 } },
    "7": { eventTime: t0, snapshotId: 201n, tier: Tier.OFFLINE, values: { sessions_7d: 3n, price_sensitivity: null }, status: FeatureStatus.EXPIRED },
  },
};

/** What the earlier snapshots held. */
export const before: Data = {
  user_profile: now.user_profile!,
  user_behavior: {
    "42": { eventTime: t1, snapshotId: 201n, tier: Tier.OFFLINE, values: { sessions_7d: 9n, price_sensitivity: 0.42 } },
  },
};

function refsOf(req: { selector: GetOnlineFeaturesRequest["selector"] }): string[] {
  if (req.selector.case === "features") return req.selector.value.refs;
  const svc = registry.featureServices.find((s) => s.name === req.selector.value);
  return svc?.features ?? [];
}

/** Answers a one-row read from `data`. */
export function answer(req: { selector: GetOnlineFeaturesRequest["selector"]; entities: GetOnlineFeaturesRequest["entities"] }, data: Data = now): GetOnlineFeaturesResponse {
  const col = req.entities[0]!;
  const id = String(col.values.value?.values[0] ?? "");
  const refs = refsOf(req);
  const views = [...new Set(refs.map((r) => r.split(":")[0]!))];
  const types = new Map(registry.featureViews.flatMap((v) => v.features.map((f) => [`${v.name}:${f.name}`, f.valueType] as const)));
  const init: MessageInitShape<typeof GetOnlineFeaturesResponseSchema> = {
    rowCount: 1,
    registryVersion: registry.version,
    views: views.map((v) => {
      const row = data[v]?.[id];
      return {
        view: v,
        eventTimeUnixMicros: [row ? BigInt(row.eventTime.getTime()) * 1000n : 0n],
        snapshotIds: [row?.snapshotId ?? 0n],
        tiers: [row?.tier ?? Tier.NONE],
      };
    }),
    columns: refs.map((ref) => {
      const [v, f] = ref.split(":") as [string, string];
      const row = data[v]?.[id];
      const raw = row?.values[f];
      const status = !row ? FeatureStatus.NOT_FOUND : raw === null ? FeatureStatus.NULL : (row.status ?? FeatureStatus.PRESENT);
      const vt = types.get(ref)!;
      const values =
        vt === ValueType.INT64
          ? { case: "int64Values" as const, value: { values: [typeof raw === "bigint" ? raw : 0n] } }
          : vt === ValueType.DOUBLE
            ? { case: "doubleValues" as const, value: { values: [typeof raw === "number" ? raw : 0] } }
            : { case: "stringValues" as const, value: { values: [typeof raw === "string" ? raw : ""] } };
      return { name: ref, valueType: vt, statuses: [status], values };
    }),
  };
  return create(GetOnlineFeaturesResponseSchema, init);
}

export function diffAnswer(req: DiffFeaturesRequest) {
  const from = answer(req, before);
  const to = answer(req, now);
  const changed = from.columns
    .filter((c, i) => JSON.stringify(c.values.value?.values.map(String)) !== JSON.stringify(to.columns[i]!.values.value?.values.map(String)) || c.statuses[0] !== to.columns[i]!.statuses[0])
    .map((c) => c.name);
  return { from, to, changed };
}

export const snapshots = {
  user_profile: [{ snapshotId: 101n, committedAt: timestampFromDate(t0), operation: "append", addedRecords: 1000n, materialized: true }],
  user_behavior: [
    { snapshotId: 202n, parentId: 201n, committedAt: timestampFromDate(t2), operation: "append", addedRecords: 40n, materialized: false },
    { snapshotId: 201n, committedAt: timestampFromDate(t1), operation: "append", addedRecords: 1000n, materialized: true },
  ],
} as Record<string, unknown[]>;

export const freshness = {
  views: [
    {
      view: "user_behavior",
      latest: snapshots.user_behavior![0],
      materializedSnapshotId: 201n,
      materializedCommittedAt: timestampFromDate(t1),
      lagSeconds: 3600,
    },
    { view: "user_profile", latest: snapshots.user_profile![0], materializedSnapshotId: 101n, materializedCommittedAt: timestampFromDate(t0), lagSeconds: 0 },
    { view: "card_activity", materializedSnapshotId: 0n, lagSeconds: 0 },
  ],
  materializer: { role: MaterializerStatus_Role.FOLLOWER, leader: "", lastPassAt: timestampFromDate(t2), lastError: "" },
};

const bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, Infinity];

/** Cumulative serving counters after `n` polls: 20 reads and one error per poll. */
export function servingStats(n: number, start = new Date("2026-11-21T10:00:00Z")) {
  const k = BigInt(n);
  return {
    at: timestampFromDate(new Date(start.getTime() + n * 2000)),
    methods: [
      {
        method: "/floe.v1.ServingService/GetOnlineFeatures",
        count: 20n * k,
        bucketUpperBounds: bounds,
        // 10 calls under 1 ms, 9 more under 2.5 ms, 1 under 25 ms per poll.
        bucketCounts: [0n, 10n * k, 19n * k, 19n * k, 19n * k, 20n * k, 20n * k],
        errorsByCode: { invalid_argument: k },
      },
      {
        method: "/floe.v1.AdminService/GetServingStats",
        count: k,
        bucketUpperBounds: bounds,
        bucketCounts: [k, k, k, k, k, k, k],
        errorsByCode: {},
      },
    ],
    valuesByTier: { l1: 60n * k, online: 30n * k, offline: 10n * k, none: 0n },
  };
}

/** Handlers of a healthy server. */
export function healthy() {
  return {
    GetRegistry: () => registry,
    GetOnlineFeatures: (req: GetOnlineFeaturesRequest) => answer(req),
    DiffFeatures: (req: DiffFeaturesRequest) => diffAnswer(req),
    ListSnapshots: (req: { view: string }) => ({ snapshots: snapshots[req.view] ?? [] }),
    GetFreshness: () => freshness,
    GetServingStats: (_req: unknown, call: number) => servingStats(call),
  };
}
