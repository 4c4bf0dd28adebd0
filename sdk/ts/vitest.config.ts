import { defineConfig } from "vitest/config";

// Two projects so unit tests run without a server (`npx vitest run --project unit`)
// while `npm test` runs both; only the integration project starts bin/floe.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*.integration.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.integration.test.ts"],
          globalSetup: ["test/setup/floe-server.ts"],
          // Bounds, not expectations: a cold 2-core machine is slow.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
