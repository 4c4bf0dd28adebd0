// Unmount what a test rendered (vitest runs without globals, so Testing
// Library's automatic cleanup is not registered) and restore the real fetch.
import { cleanup } from "@testing-library/vue";
import { afterEach, vi } from "vitest";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});
