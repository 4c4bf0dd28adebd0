// A fake Floe server at the fetch layer: requests made by the real @floe/client
// (Connect protocol, JSON) are decoded, answered by per-method handlers and
// encoded back, so the console under test runs its real client code. Faults are
// injected as HTTP answers (Connect errors) or as a fetch that rejects or hangs.
import { create, fromJson, toJson, type DescMethod, type MessageInitShape } from "@bufbuild/protobuf";
import { AdminService, RegistryService, ServingService } from "@floe/client";
import { vi } from "vitest";

/** A Connect error the fake answers with. */
export class RpcFault {
  constructor(
    readonly code: string,
    readonly message: string,
  ) {}
}
/** Makes the fetch itself fail, as when the server is down. */
export class NetworkDown {}
/** Makes the call never answer (a loading state). */
export class Hang {}

type Handler = (req: any, call: number) => unknown;

const httpStatus: Record<string, number> = {
  invalid_argument: 400,
  not_found: 404,
  failed_precondition: 400,
  unauthenticated: 401,
  permission_denied: 403,
  unimplemented: 501,
  unavailable: 503,
  deadline_exceeded: 504,
  internal: 500,
};

const methods = new Map<string, DescMethod>();
for (const svc of [ServingService, RegistryService, AdminService]) {
  for (const m of svc.methods) methods.set(`/${svc.typeName}/${m.name}`, m);
}

export interface FakeFloe {
  /** Replaces the handler of one method, named like "GetOnlineFeatures". */
  on(method: string, handler: Handler | RpcFault | NetworkDown | Hang): void;
  /** Requests received per method, decoded. */
  calls(method: string): any[];
}

/** Installs the fake as globalThis.fetch for the current test. */
export function installFakeFloe(handlers: Record<string, Handler>): FakeFloe {
  const table = new Map<string, Handler | RpcFault | NetworkDown | Hang>(Object.entries(handlers));
  const received = new Map<string, any[]>();
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const method = methods.get(url.pathname);
    if (!method) return new Response("404 page not found", { status: 404 });
    const body = init?.body;
    const text = body instanceof Uint8Array ? new TextDecoder().decode(body) : typeof body === "string" ? body : "{}";
    const req = fromJson(method.input, JSON.parse(text));
    const list = received.get(method.name) ?? [];
    list.push(req);
    received.set(method.name, list);
    const h = table.get(method.name);
    if (h instanceof NetworkDown) throw new TypeError("Failed to fetch");
    if (h instanceof Hang) return new Promise<Response>(() => {});
    if (h instanceof RpcFault) return errorResponse(h);
    if (!h) return errorResponse(new RpcFault("unimplemented", `${method.name} is not implemented`));
    try {
      const out = await h(req, list.length);
      const msg = create(method.output, out as MessageInitShape<typeof method.output>);
      return new Response(JSON.stringify(toJson(method.output, msg)), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    } catch (err) {
      if (err instanceof RpcFault) return errorResponse(err);
      if (err instanceof NetworkDown) throw new TypeError("Failed to fetch");
      throw err;
    }
  };
  vi.stubGlobal("fetch", vi.fn(fetchImpl));
  return {
    on: (m, h) => table.set(m, h),
    calls: (m) => received.get(m) ?? [],
  };
}

function errorResponse(f: RpcFault): Response {
  return new Response(JSON.stringify({ code: f.code, message: f.message }), {
    status: httpStatus[f.code] ?? 500,
    headers: { "content-type": "application/json" },
  });
}
