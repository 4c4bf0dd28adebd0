import { defineVitestConfig } from "@nuxt/test-utils/config";

// Component tests: each page rendered in a Nuxt environment (happy-dom) with the
// real @floe/client; only the fetch layer under it is replaced (test/fake-floe.ts).
export default defineVitestConfig({
  test: {
    environment: "nuxt",
    environmentOptions: { nuxt: { domEnvironment: "happy-dom" } },
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 120_000,
  },
});
