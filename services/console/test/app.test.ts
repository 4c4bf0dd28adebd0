import { renderSuspended } from "@nuxt/test-utils/runtime";
import { screen, within } from "@testing-library/vue";
import { beforeEach, describe, expect, it } from "vitest";
import App from "~/app.vue";
import { resetRegistryCache } from "~/composables/useFloe";
import { installFakeFloe } from "./fake-floe";
import { healthy } from "./fixtures";

beforeEach(() => resetRegistryCache());

describe("Layout", () => {
  it("offers a skip link and marks the current page in the main navigation", async () => {
    installFakeFloe(healthy());
    await renderSuspended(App, { route: "/registry" });
    expect(screen.getByRole("link", { name: "Skip to content" }).getAttribute("href")).toBe("#main");
    const nav = screen.getByRole("navigation", { name: "Main" });
    const links = within(nav).getAllByRole("link");
    expect(links.map((l) => l.textContent?.trim())).toEqual(["Inspector", "Time travel", "Registry", "Freshness", "Serving"]);
    expect(within(nav).getByRole("link", { name: "Registry" }).getAttribute("aria-current")).toBe("page");
    expect(within(nav).getByRole("link", { name: "Inspector" }).getAttribute("aria-current")).toBeNull();
    await screen.findByTestId("lineage");
  });
});
