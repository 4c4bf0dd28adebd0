import { renderSuspended } from "@nuxt/test-utils/runtime";
import { fireEvent, screen, within } from "@testing-library/vue";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { beforeEach, describe, expect, it } from "vitest";
import TimeTravel from "~/pages/time-travel.vue";
import { resetRegistryCache } from "~/composables/useFloe";
import { Hang, NetworkDown, RpcFault, installFakeFloe } from "./fake-floe";
import { answer, healthy, t1 } from "./fixtures";

beforeEach(() => resetRegistryCache());

const base = "/time-travel?entity=user&service=pricing_agent_v1&user_id=42";
const url = `${base}&from=2026-11-21T09:00:00Z`;

describe("Time travel", () => {
  it("shows a loading state while the registry loads", async () => {
    installFakeFloe({ ...healthy(), GetRegistry: new Hang() as never });
    await renderSuspended(TimeTravel, { route: url });
    expect(screen.getByTestId("loading")).toBeTruthy();
  });

  it("waits for an id", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(TimeTravel, { route: "/time-travel" });
    await screen.findByTestId("state-idle");
    expect(screen.getByRole("group", { name: "From" })).toBeTruthy();
    expect(screen.getByRole("group", { name: "To" })).toBeTruthy();
    expect(fake.calls("DiffFeatures")).toHaveLength(0);
  });

  it("asks for the earlier point when the URL has none", async () => {
    installFakeFloe(healthy());
    await renderSuspended(TimeTravel, { route: base });
    await screen.findByTestId("state-need-from");
  });

  it("diffs two points and highlights what changed", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(TimeTravel, { route: url });
    const table = await screen.findByTestId("diff-table");
    expect(screen.getByTestId("diff-summary").textContent).toContain("1 of 4 features changed");
    const changed = table.querySelectorAll('tr[data-changed="true"]');
    expect(changed).toHaveLength(1);
    expect(changed[0]!.textContent).toContain("sessions_7d");
    expect(changed[0]!.textContent).toContain("9");
    expect(changed[0]!.textContent).toContain("12");
    expect(within(changed[0] as HTMLElement).getByText("changed")).toBeTruthy();
    const req = fake.calls("DiffFeatures")[0];
    expect(timestampDate(req.from.point.value).toISOString()).toBe(t1.toISOString());
    expect(req.to).toBeUndefined(); // now
  });

  it("says so when nothing changed", async () => {
    installFakeFloe({ ...healthy(), DiffFeatures: (req: never) => ({ from: answer(req), to: answer(req), changed: [] }) });
    await renderSuspended(TimeTravel, { route: url });
    expect((await screen.findByTestId("diff-summary")).textContent).toContain("No feature changed");
  });

  it("offers the commit timeline and compares when the slider moves", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(TimeTravel, { route: url });
    await screen.findByTestId("diff-table");
    const slider = (await screen.findByLabelText("From on the commit timeline")) as HTMLInputElement;
    expect(slider.max).toBe("2"); // three commits
    expect(slider.value).toBe("1"); // 09:00 is the second commit
    slider.value = "0";
    await fireEvent.change(slider);
    await screen.findByText(/2026-11-21 08:00:00 UTC →/);
    expect(useRouter().currentRoute.value.query.from).toBe("2026-11-21T08:00:00Z");
    expect(fake.calls("DiffFeatures")).toHaveLength(2);
  });

  it("pins snapshots per view", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(TimeTravel, { route: `${base}&from=snapshots:user_profile=101,user_behavior=201` });
    await screen.findByTestId("diff-table");
    const req = fake.calls("DiffFeatures")[0];
    expect(req.from.point.case).toBe("snapshots");
    expect(req.from.point.value.snapshotIds).toEqual({ user_profile: 101n, user_behavior: 201n });
    expect(((await screen.findByLabelText("user_behavior snapshot")) as HTMLSelectElement).value).toBe("201");
  });

  it("rejects an invalid id", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(TimeTravel, { route: `/time-travel?entity=user&user_id=x1&from=2026-11-21T09:00:00Z` });
    expect((await screen.findByTestId("state-invalid")).textContent).toContain("“x1” is not a valid user_id");
    expect(fake.calls("DiffFeatures")).toHaveLength(0);
  });

  it("shows the server's invalid_argument", async () => {
    installFakeFloe({ ...healthy(), DiffFeatures: new RpcFault("invalid_argument", "from: as_of.snapshots[\"user_profile\"]: no snapshot 5") as never });
    await renderSuspended(TimeTravel, { route: url });
    expect((await screen.findByTestId("state-invalid")).textContent).toContain("no snapshot 5");
  });

  it("shows an unknown entity", async () => {
    installFakeFloe(healthy());
    await renderSuspended(TimeTravel, { route: "/time-travel?entity=user&service=pricing_agent_v1&user_id=999&from=2026-11-21T09:00:00Z" });
    expect((await screen.findByTestId("state-unknown")).textContent).toContain("at either point");
  });

  it("shows a loading state while both points are read", async () => {
    installFakeFloe({ ...healthy(), DiffFeatures: new Hang() as never });
    await renderSuspended(TimeTravel, { route: url });
    await screen.findByText("Reading both points…");
  });

  it("shows a backend outage", async () => {
    installFakeFloe({ ...healthy(), DiffFeatures: new RpcFault("unavailable", "offline store: catalog unreachable") as never });
    await renderSuspended(TimeTravel, { route: url });
    expect((await screen.findByTestId("state-outage")).textContent).toContain("Floe is unavailable");
  });

  it("shows other errors with their code", async () => {
    installFakeFloe({ ...healthy(), DiffFeatures: new RpcFault("unimplemented", "as_of reads need the offline store") as never });
    await renderSuspended(TimeTravel, { route: url });
    await screen.findByText("Comparing failed (unimplemented)");
  });

  it("still compares typed times when the commit history fails", async () => {
    installFakeFloe({ ...healthy(), ListSnapshots: new NetworkDown() as never });
    await renderSuspended(TimeTravel, { route: url });
    await screen.findByTestId("diff-table");
    expect(screen.getByTestId("history-error").textContent).toContain("network");
  });
});
