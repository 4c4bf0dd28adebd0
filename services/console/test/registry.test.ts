import { renderSuspended } from "@nuxt/test-utils/runtime";
import { screen, within } from "@testing-library/vue";
import { beforeEach, describe, expect, it } from "vitest";
import Registry from "~/pages/registry/index.vue";
import ViewPage from "~/pages/registry/views/[name].vue";
import ServicePage from "~/pages/registry/services/[name].vue";
import EntityPage from "~/pages/registry/entities/[name].vue";
import { resetRegistryCache } from "~/composables/useFloe";
import { Hang, NetworkDown, RpcFault, installFakeFloe } from "./fake-floe";
import { healthy, registry } from "./fixtures";

beforeEach(() => resetRegistryCache());

describe("Registry", () => {
  it("shows a loading state", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: new Hang() as never });
    await renderSuspended(Registry, { route: "/registry" });
    expect(screen.getByTestId("loading")).toBeTruthy();
  });

  it("shows entities, views, services and the version hash", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Registry, { route: "/registry" });
    expect((await screen.findByTestId("registry-version")).textContent).toBe("3f9a1c2e7b44");
    expect(screen.getByRole("heading", { name: "Entities" })).toBeTruthy();
    expect(screen.getAllByRole("link", { name: "card" }).length).toBeGreaterThan(0);
    expect(screen.getAllByRole("link", { name: "pricing_agent_v1" }).length).toBeGreaterThan(0);
    expect(screen.getByText("365 d")).toBeTruthy();
  });

  it("draws the lineage source table → view → service with links", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Registry, { route: "/registry" });
    const lineage = await screen.findByTestId("lineage");
    const rows = within(lineage).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.querySelector("td")!.textContent!.trim())).toEqual(["fraud.card_activity", "pricing.user_behavior", "pricing.user_profile"]);
    const behavior = rows[1]!;
    expect(within(behavior).getByRole("link", { name: "user_behavior" }).getAttribute("href")).toBe("/console/registry/views/user_behavior");
    expect(within(behavior).getByRole("link", { name: "pricing_agent_v1" }).getAttribute("href")).toBe("/console/registry/services/pricing_agent_v1");
    expect(within(behavior).getByRole("link", { name: /pricing.user_behavior/ }).getAttribute("href")).toBe("/console/freshness?view=user_behavior");
    expect(within(rows[0]!).getByText("no service reads it")).toBeTruthy();
  });

  it("shows an empty registry", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: () => ({ version: "e3b0c442" }) });
    await renderSuspended(Registry, { route: "/registry" });
    expect((await screen.findByTestId("state-empty")).textContent).toContain("The registry is empty");
  });

  it("shows a backend outage", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: new NetworkDown() as never });
    await renderSuspended(Registry, { route: "/registry" });
    await screen.findByText("Floe is unavailable");
  });

  it("shows other errors with their code", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: new RpcFault("permission_denied", "policy denies registry reads") as never });
    await renderSuspended(Registry, { route: "/registry" });
    await screen.findByText("Loading the registry failed (permission_denied)");
  });

  it("details a feature view", async () => {
    installFakeFloe(healthy());
    await renderSuspended(ViewPage, { route: "/registry/views/user_behavior" });
    await screen.findByRole("heading", { name: "Feature view user_behavior" });
    expect(within(screen.getByTestId("view-features")).getByText("price_sensitivity")).toBeTruthy();
    expect(within(screen.getByTestId("read-by")).getByRole("link", { name: "pricing_agent_v1" })).toBeTruthy();
    expect(screen.getByText("7 d")).toBeTruthy();
    expect(screen.getByRole("link", { name: "Inspect an entity of this view" }).getAttribute("href")).toBe("/console/?entity=user");
  });

  it("says when a view is not defined", async () => {
    installFakeFloe(healthy());
    await renderSuspended(ViewPage, { route: "/registry/views/nope" });
    expect((await screen.findByTestId("state-not-found")).textContent).toContain("No feature view named “nope”");
  });

  it("details a feature service in model input order", async () => {
    installFakeFloe(healthy());
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v1" });
    const list = await screen.findByTestId("service-features");
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual(registry.featureServices[0]!.features);
    expect(screen.getByRole("link", { name: "Inspect an entity with this service" }).getAttribute("href")).toBe("/console/?entity=user&service=pricing_agent_v1");
  });

  it("says when a service is not defined", async () => {
    installFakeFloe(healthy());
    await renderSuspended(ServicePage, { route: "/registry/services/nope" });
    await screen.findByTestId("state-not-found");
  });

  it("details an entity", async () => {
    installFakeFloe(healthy());
    await renderSuspended(EntityPage, { route: "/registry/entities/user" });
    await screen.findByRole("heading", { name: "Entity user" });
    expect(screen.getByText("user_id (int64)")).toBeTruthy();
    expect(screen.getByText(/pricing\.yaml:6/)).toBeTruthy();
  });

  it("says when an entity is not defined", async () => {
    installFakeFloe(healthy());
    await renderSuspended(EntityPage, { route: "/registry/entities/nope" });
    await screen.findByTestId("state-not-found");
  });
});
