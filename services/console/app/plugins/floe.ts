// Provides the Floe client. The console is served by the Floe server itself, so
// it calls the same origin; `nuxt dev` proxies the same paths to FLOE_URL.
import { createFloeClient } from "@floe/client";

export default defineNuxtPlugin(() => {
  const floe = createFloeClient(window.location.origin, {
    // Resolved per call, so that a test can replace the fetch layer.
    fetch: (input, init) => globalThis.fetch(input, init),
    defaultTimeoutMs: 10_000,
  });
  return { provide: { floe } };
});
