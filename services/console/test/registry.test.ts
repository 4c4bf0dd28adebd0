import { renderSuspended } from "@nuxt/test-utils/runtime";
import { screen, within } from "@testing-library/vue";
import { beforeEach, describe, expect, it } from "vitest";
import Registry from "~/pages/registry/index.vue";
import ViewPage from "~/pages/registry/views/[name].vue";
import ServicePage from "~/pages/registry/services/[name].vue";
import EntityPage from "~/pages/registry/entities/[name].vue";
import { resetRegistryCache } from "~/composables/useFloe";
import { Hang, NetworkDown, RpcFault, installFakeFloe } from "./fake-floe";
import { healthy, registry, registryWithTransforms } from "./fixtures";

beforeEach(() => resetRegistryCache());

/** The cells of one row of the outputs table, as a reader sees them. */
function outputRow(table: HTMLElement, name: string) {
  const row = [...table.querySelectorAll<HTMLElement>("tr[data-output]")].find((r) => r.dataset.output === name);
  if (!row) throw new Error(`no output row ${name}`);
  const text = (col: string) => row.querySelector(`[data-col="${col}"]`)!.textContent!.trim();
  const steps = [...row.querySelectorAll<HTMLElement>('[data-col="transform"] li')];
  return {
    row,
    name: within(row).getByRole("rowheader").textContent!.trim(),
    from: text("ref"),
    type: text("type"),
    transform: text("transform"),
    // The full text of each step: the code element outside a fold's summary.
    steps: steps.map((li) => [...li.querySelectorAll("code")].filter((c) => !c.closest("summary")).map((c) => c.textContent).join("")),
    fitted: steps.map((li) => li.hasAttribute("data-fitted") && within(li).queryByText("fitted") !== null),
  };
}

function outputRows(table: HTMLElement) {
  return [...table.querySelectorAll<HTMLElement>("tbody tr")].map((r) => outputRow(table, r.dataset.output!));
}

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

  it("details a feature service's outputs in model input order", async () => {
    installFakeFloe(healthy());
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v1" });
    const table = await screen.findByTestId("service-outputs");
    expect(outputRows(table).map((r) => r.name)).toEqual(registry.featureServices[0]!.features);
    const age = outputRow(table, "user_profile:age");
    expect(age.from).toBe("user_profile:age");
    expect(age.type).toBe("int64");
    expect(age.transform).toBe("raw");
    expect(within(age.row).getByRole("link", { name: "user_profile" }).getAttribute("href")).toBe("/console/registry/views/user_profile");
    expect(screen.queryByTestId("service-fit")).toBeNull();
    expect(screen.getByRole("link", { name: "Inspect an entity with this service" }).getAttribute("href")).toBe("/console/?entity=user&service=pricing_agent_v1");
  });

  it("shows renamed and transformed outputs with their steps in order", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: () => registryWithTransforms() });
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v2" });
    const table = await screen.findByTestId("service-outputs");
    expect(outputRows(table).map((r) => r.name)).toEqual(["city_index", "sessions_7d_log", "user_behavior:price_sensitivity"]);
    const city = outputRow(table, "city_index");
    expect(city.from).toBe("user_profile:city");
    expect(within(city.row).getByRole("link", { name: "user_profile" }).getAttribute("href")).toBe("/console/registry/views/user_profile");
    expect(city.type).toBe("int64");
    expect(city.steps).toEqual(['fill_null(value="")', 'lookup(vocabulary=["Lyon" "Oslo"],oov_buckets=1)']);
    expect(outputRow(table, "sessions_7d_log").steps).toEqual(["clip(min=0,max=100)", "log1p"]);
    expect(outputRow(table, "user_behavior:price_sensitivity").transform).toBe("raw");
    // Written parameters: nothing fitted, no provenance.
    expect(table.querySelectorAll("[data-fitted]")).toHaveLength(0);
    expect(within(table).queryByText("fitted")).toBeNull();
    expect(screen.queryByTestId("service-fit")).toBeNull();
  });

  it("marks fitted steps and shows the lock file and snapshots they came from", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: () => registryWithTransforms() });
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v3" });
    const table = await screen.findByTestId("service-outputs");
    const z = outputRow(table, "price_sensitivity_z");
    expect(z.steps).toEqual(["clip(min=0,max=1)", "standardize(mean=0.4,std=0.2)"]);
    expect(z.fitted).toEqual([false, true]);
    const city = outputRow(table, "city_onehot");
    expect(city.type).toBe("float_vector[62]");
    expect(city.fitted).toEqual([true, false]);
    // The long fitted vocabulary starts folded and unfolds to the whole step.
    const folded = city.row.querySelector("details")!;
    expect(folded.open).toBe(false);
    expect(folded.querySelector("summary code")!.textContent!.trim()).toMatch(/^lookup\(vocabulary=\["city_00".*…$/);
    expect(folded.textContent).toContain('"city_59"],oov_buckets=1)');
    expect(outputRow(table, "user_profile:age").transform).toBe("raw");

    const fit = screen.getByTestId("service-fit");
    expect(within(fit).getByTestId("fit-lock-file").textContent).toBe("specs/pricing/pricing.lock.yaml");
    expect(within(fit).getByTestId("fit-fitted-at").textContent).toBe("2026-11-22 01:56:20 UTC");
    const snaps = within(within(fit).getByTestId("fit-snapshots")).getAllByRole("listitem");
    expect(snaps.map((li) => li.textContent!.trim())).toEqual(["pricing.user_behavior@5317280425789149063", "pricing.user_profile@101"]);
    expect(within(snaps[0]!).getByRole("link", { name: /pricing.user_behavior/ }).getAttribute("href")).toBe("/console/freshness?view=user_behavior");
    expect(within(fit).getByTestId("fit-refit").textContent).toBe("floe fit --snapshot pricing.user_behavior=5317280425789149063 --snapshot pricing.user_profile=101");
  });

  it("shows a fit without a readable time", async () => {
    const reg = registryWithTransforms();
    reg.featureServices.find((s) => s.name === "pricing_agent_v3")!.fit!.fittedAt = undefined;
    installFakeFloe({ ...healthy(), GetRegistry: () => reg });
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v3" });
    expect((await screen.findByTestId("fit-fitted-at")).textContent).toBe("—");
    expect(screen.getByTestId("fit-lock-file").textContent).toBe("specs/pricing/pricing.lock.yaml");
  });

  it("lists a service's features when the server does not list its outputs", async () => {
    const reg = registryWithTransforms();
    for (const s of reg.featureServices) s.outputs = [];
    installFakeFloe({ ...healthy(), GetRegistry: () => reg });
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v1" });
    await screen.findByTestId("no-outputs");
    const list = screen.getByTestId("service-features");
    expect(within(list).getAllByRole("listitem").map((li) => li.textContent)).toEqual(registry.featureServices[0]!.features);
    expect(screen.queryByTestId("service-outputs")).toBeNull();
  });

  it("shows the loading state of a service page", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: new Hang() as never });
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v3" });
    expect(screen.getByTestId("loading")).toBeTruthy();
    expect(screen.queryByTestId("service-outputs")).toBeNull();
  });

  it("shows an outage on a service page", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: new NetworkDown() as never });
    await renderSuspended(ServicePage, { route: "/registry/services/pricing_agent_v3" });
    await screen.findByText("Floe is unavailable");
    expect(screen.queryByTestId("service-outputs")).toBeNull();
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
