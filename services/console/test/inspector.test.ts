import { renderSuspended } from "@nuxt/test-utils/runtime";
import { fireEvent, screen, waitFor, within } from "@testing-library/vue";
import { FeatureStatus } from "@floe/client";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { beforeEach, describe, expect, it } from "vitest";
import Inspector from "~/pages/index.vue";
import { resetRegistryCache } from "~/composables/useFloe";
import { Hang, NetworkDown, RpcFault, installFakeFloe } from "./fake-floe";
import { answer, healthy } from "./fixtures";

const url42 = "/?entity=user&service=pricing_agent_v1&user_id=42";

beforeEach(() => resetRegistryCache());

function cell(feature: string): HTMLElement {
  return document.querySelector(`[data-feature="${feature}"]`) as HTMLElement;
}

describe("Feature inspector", () => {
  it("shows a loading state while the registry loads", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: new Hang() as never });
    await renderSuspended(Inspector, { route: url42 });
    expect(screen.getByTestId("loading")).toBeTruthy();
    expect(screen.getByText("Loading the registry…")).toBeTruthy();
  });

  it("shows an outage when the registry cannot be loaded", async () => {
    const fake = installFakeFloe(healthy());
    fake.on("GetRegistry", new NetworkDown());
    await renderSuspended(Inspector, { route: url42 });
    await screen.findByText("Floe is unavailable");
    expect(screen.getByText(/No answer from the server/)).toBeTruthy();
  });

  it("waits for an id, with labelled controls", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/" });
    await screen.findByTestId("state-idle");
    expect((screen.getByLabelText("Entity type") as HTMLSelectElement).value).toBe("user");
    expect((screen.getByLabelText("Feature service") as HTMLSelectElement).value).toBe("pricing_agent_v1");
    expect(screen.getByLabelText(/user_id/)).toBeTruthy();
    expect(screen.getByLabelText(/As of/)).toBeTruthy();
    expect(fake.calls("GetOnlineFeatures")).toHaveLength(0);
  });

  it("reads the features of a typed id and puts it in the URL", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/" });
    const input = await screen.findByLabelText(/user_id/);
    await fireEvent.update(input, "42");
    await fireEvent.submit(input.closest("form")!);
    await screen.findByTestId("feature-table");
    expect(useRouter().currentRoute.value.query).toMatchObject({ entity: "user", service: "pricing_agent_v1", user_id: "42" });
    expect(cell("user_profile:age").textContent).toBe("31");
    expect(cell("user_profile:city").textContent).toBe("Lyon");
    expect(fake.calls("GetOnlineFeatures")[0].entities[0].values.value.values).toEqual([42n]);
  });

  it("shows value, status, event time, snapshot and tier of every feature", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: url42 });
    const table = await screen.findByTestId("feature-table");
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(5); // header + 4 features
    const behavior = rows.find((r) => r.textContent?.includes("sessions_7d"))!;
    expect(behavior.textContent).toContain("12");
    expect(behavior.textContent).toContain("present");
    expect(behavior.textContent).toContain("2026-11-21 10:00:00 UTC");
    expect(behavior.textContent).toContain("202");
    expect(behavior.textContent).toContain("online store");
    expect(screen.getByTestId("result-heading").textContent).toContain("pricing_agent_v1 · user_id 42");
    expect(screen.getByText("3f9a1c2e7b44")).toBeTruthy();
  });

  it("shows expired and null values for what they are", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/?entity=user&service=pricing_agent_v1&user_id=7" });
    const table = await screen.findByTestId("feature-table");
    expect(within(table).getAllByText("expired").length).toBe(1);
    expect(within(table).getAllByText("null").length).toBe(1);
    expect(within(table).getAllByText("Iceberg")).toHaveLength(2);
    expect(within(table).getAllByText("L1 cache")).toHaveLength(2);
  });

  it("reads every feature of the entity when no service is chosen", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/?entity=user&user_id=42" });
    await screen.findByTestId("feature-table");
    const req = fake.calls("GetOnlineFeatures")[0];
    expect(req.selector.case).toBe("features");
    expect(req.selector.value.refs).toEqual(["user_profile:age", "user_profile:city", "user_behavior:sessions_7d", "user_behavior:price_sensitivity"]);
  });

  it("reads as of the time in the URL", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: `${url42}&at=2026-11-21T09:30:00Z` });
    await screen.findByTestId("feature-table");
    const req = fake.calls("GetOnlineFeatures")[0];
    expect(timestampDate(req.asOf.point.value).toISOString()).toBe("2026-11-21T09:30:00.000Z");
    expect(screen.getByTestId("result-heading").textContent).toContain("as of 2026-11-21 09:30:00 UTC");
    expect((screen.getByLabelText(/As of/) as HTMLInputElement).value).toMatch(/^2026-11-21T09:30(:00)?$/);
  });

  it("shows a loading state while features are read", async () => {
    installFakeFloe({ ...healthy(), GetOnlineFeatures: new Hang() as never });
    await renderSuspended(Inspector, { route: url42 });
    await screen.findByText("Reading features…");
  });

  it("rejects an invalid id without calling the server", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/?entity=user&service=pricing_agent_v1&user_id=abc" });
    const alert = await screen.findByTestId("state-invalid");
    expect(alert.textContent).toContain("Invalid id");
    expect(alert.textContent).toContain("“abc” is not a valid user_id: expected an integer (int64)");
    expect(fake.calls("GetOnlineFeatures")).toHaveLength(0);
  });

  it("rejects an id out of the int64 range", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/?entity=user&user_id=9223372036854775808" });
    expect((await screen.findByTestId("state-invalid")).textContent).toContain("out of the int64 range");
  });

  it("shows the server's invalid_argument as an invalid id", async () => {
    installFakeFloe({ ...healthy(), GetOnlineFeatures: new RpcFault("invalid_argument", "entities: user_id: negative ids are not allowed") as never });
    await renderSuspended(Inspector, { route: url42 });
    const alert = await screen.findByTestId("state-invalid");
    expect(alert.textContent).toContain("negative ids are not allowed");
  });

  it("shows an unknown id as an unknown entity, not as an error", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/?entity=user&service=pricing_agent_v1&user_id=999" });
    const alert = await screen.findByTestId("state-unknown");
    expect(alert.textContent).toContain("Unknown entity");
    expect(alert.textContent).toContain("No feature view has a row for user_id 999");
    expect(screen.queryByTestId("feature-table")).toBeNull();
  });

  it("shows a backend outage (unavailable)", async () => {
    installFakeFloe({ ...healthy(), GetOnlineFeatures: new RpcFault("unavailable", "online store: dial tcp: connection refused") as never });
    await renderSuspended(Inspector, { route: url42 });
    const state = await screen.findByTestId("state-outage");
    expect(state.textContent).toContain("Floe is unavailable");
    expect(state.textContent).toContain("could not reach its stores");
    expect(state.textContent).toContain("connection refused");
  });

  it("shows a backend outage (server unreachable) and retries", async () => {
    const fake = installFakeFloe({ ...healthy(), GetOnlineFeatures: new NetworkDown() as never });
    await renderSuspended(Inspector, { route: url42 });
    const state = await screen.findByTestId("state-outage");
    expect(state.textContent).toContain("No answer from the server");
    fake.on("GetOnlineFeatures", (req) => answer(req));
    await fireEvent.click(within(state).getByRole("button", { name: /Retry/ }));
    await screen.findByTestId("feature-table");
  });

  it("shows values no store could answer as an outage", async () => {
    installFakeFloe({
      ...healthy(),
      GetOnlineFeatures: (req: never) => {
        const res = answer(req);
        for (const c of res.columns) c.statuses = [FeatureStatus.UNAVAILABLE];
        return res;
      },
    });
    await renderSuspended(Inspector, { route: url42 });
    expect((await screen.findByTestId("state-outage")).textContent).toContain("No store could answer");
  });

  it("labels a value the feature service's fill_null supplied", async () => {
    installFakeFloe({
      ...healthy(),
      GetOnlineFeatures: (req: never) => {
        const res = answer(req);
        res.columns[0].statuses = [FeatureStatus.FILLED];
        return res;
      },
    });
    await renderSuspended(Inspector, { route: url42 });
    expect((await screen.findByTestId("feature-table")).textContent).toContain("filled");
  });

  it("flags a degraded answer served from Iceberg", async () => {
    installFakeFloe({ ...healthy(), GetOnlineFeatures: (req: never) => ({ ...answer(req), degraded: true, degradedReason: "online store unreachable" }) });
    await renderSuspended(Inspector, { route: url42 });
    expect((await screen.findByTestId("degraded")).textContent).toContain("online store unreachable");
    expect(screen.getByTestId("feature-table")).toBeTruthy();
  });

  it("shows other errors with their code", async () => {
    installFakeFloe({ ...healthy(), GetOnlineFeatures: new RpcFault("internal", "boom") as never });
    await renderSuspended(Inspector, { route: url42 });
    await screen.findByText("Reading features failed (internal)");
    expect(screen.getByText("internal: boom")).toBeTruthy();
  });

  it("shows where a service's renamed (transformed) output was read from", async () => {
    installFakeFloe({
      ...healthy(),
      GetOnlineFeatures: (req: never) => {
        const res = answer(req);
        res.columns[0]!.name = "age_bucket";
        return res;
      },
    });
    await renderSuspended(Inspector, { route: url42 });
    const table = await screen.findByTestId("feature-table");
    const row = within(table).getAllByRole("row").find((r) => r.textContent?.includes("age_bucket"))!;
    expect(row.textContent).toContain("from user_profile:age");
    expect(row.textContent).toContain("101"); // the snapshot of user_profile
    expect(within(row).getByRole("link", { name: "user_profile" }).getAttribute("href")).toBe("/console/registry/views/user_profile");
  });

  it("asks for every join key of a service that spans entities", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Inspector, { route: "/?entity=card" });
    await screen.findByTestId("state-idle");
    expect(screen.getByLabelText(/card_id/)).toBeTruthy();
    expect(screen.queryByLabelText(/user_id/)).toBeNull();
  });
});
