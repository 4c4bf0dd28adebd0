import type { FloeClient, GetRegistryResponse } from "@floe/client";
import { classifyError, type ConsoleError } from "~/utils/errors";

/** The Floe client of this app (see plugins/floe.ts). */
export function useFloe(): FloeClient {
  return useNuxtApp().$floe as FloeClient;
}

/** State of one remote call. */
export type RpcState<T> =
  | { status: "idle" }
  | { status: "loading" }
  | { status: "success"; data: T }
  | { status: "error"; error: ConsoleError };

/**
 * Runs calls and keeps the state of the latest one: an answer to an older call
 * that arrives after a newer call started is dropped.
 */
export function useRpc<T>() {
  const state = shallowRef<RpcState<T>>({ status: "idle" });
  let seq = 0;
  async function run(fn: () => Promise<T>, opts: { keepData?: boolean } = {}): Promise<void> {
    const mine = ++seq;
    if (!opts.keepData || state.value.status !== "success") state.value = { status: "loading" };
    try {
      const data = await fn();
      if (mine === seq) state.value = { status: "success", data };
    } catch (err) {
      if (mine === seq) state.value = { status: "error", error: classifyError(err) };
    }
  }
  function reset(): void {
    seq++;
    state.value = { status: "idle" };
  }
  return { state, run, reset };
}

// The registry is loaded once per page load and shared by every page: it only
// changes when the server restarts with other specs.
const registryState = shallowRef<RpcState<GetRegistryResponse>>({ status: "idle" });
let registryPromise: Promise<void> | null = null;

/** The server's registry, loaded on first use. */
export function useRegistry() {
  const floe = useFloe();
  function load(force = false): Promise<void> {
    if (registryPromise && !force) return registryPromise;
    registryState.value = { status: "loading" };
    registryPromise = floe.registry
      .getRegistry({})
      .then((data) => {
        registryState.value = { status: "success", data };
      })
      .catch((err) => {
        registryState.value = { status: "error", error: classifyError(err) };
        registryPromise = null; // a later visit retries
      });
    return registryPromise;
  }
  void load();
  return { state: registryState, reload: () => load(true) };
}

/** Forgets the loaded registry (tests). */
export function resetRegistryCache(): void {
  registryPromise = null;
  registryState.value = { status: "idle" };
}
