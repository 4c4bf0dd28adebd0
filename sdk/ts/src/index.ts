// @floe/client: typed clients of a Floe server over the Connect protocol, for
// browsers (the console) and Node. The messages and service descriptors are
// generated into ./gen by `make generate`; per-project feature contracts are
// generated into ./features from specs/.

import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

import { AdminService } from "./gen/floe/v1/admin_pb.js";
import { RegistryService } from "./gen/floe/v1/registry_pb.js";
import { ServingService } from "./gen/floe/v1/serving_pb.js";

export * from "./gen/floe/v1/admin_pb.js";
export * from "./gen/floe/v1/registry_pb.js";
export * from "./gen/floe/v1/serving_pb.js";
export * from "./gen/floe/v1/types_pb.js";
export * from "./rows.js";
export * as features from "./features/index.js";
export { Code, ConnectError } from "@connectrpc/connect";

/** Options of {@link createFloeClient}. */
export interface FloeClientOptions {
  /**
   * Send protobuf binary instead of JSON. JSON (the default) is readable in the
   * browser's network panel; binary is smaller and faster to decode.
   */
  useBinaryFormat?: boolean;
  /** Interceptors run on every call, e.g. to add an Authorization header. */
  interceptors?: Interceptor[];
  /** A fetch implementation to use instead of globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
  /** Timeout applied to calls that set none, in milliseconds. */
  defaultTimeoutMs?: number;
}

/** Typed clients of every Floe service, sharing one transport. */
export interface FloeClient {
  /** Online feature reads (GetOnlineFeatures). */
  serving: Client<typeof ServingService>;
  /** Read-only access to the definitions the server runs with. */
  registry: Client<typeof RegistryService>;
  /** Operator tasks (Materialize); servers may restrict it. */
  admin: Client<typeof AdminService>;
  /** The underlying transport, to create clients of other services. */
  transport: Transport;
}

/**
 * Creates clients of a Floe server at baseUrl (e.g. "http://127.0.0.1:8080", or
 * "/" when the console is served by the server itself), speaking the Connect
 * protocol over fetch.
 */
export function createFloeClient(baseUrl: string, options: FloeClientOptions = {}): FloeClient {
  const transport = createConnectTransport({
    baseUrl,
    useBinaryFormat: options.useBinaryFormat ?? false,
    interceptors: options.interceptors ?? [],
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.defaultTimeoutMs !== undefined ? { defaultTimeoutMs: options.defaultTimeoutMs } : {}),
  });
  return {
    serving: createClient(ServingService, transport),
    registry: createClient(RegistryService, transport),
    admin: createClient(AdminService, transport),
    transport,
  };
}
