import { renderSuspended } from "@nuxt/test-utils/runtime";
import { fireEvent, screen, within } from "@testing-library/vue";
import { describe, expect, it } from "vitest";
import Freshness from "~/pages/freshness.vue";
import { Hang, NetworkDown, RpcFault, installFakeFloe } from "./fake-floe";
import { MaterializerStatus_Role } from "@floe/client";
import { freshness, healthy } from "./fixtures";

describe("Freshness", () => {
  it("shows a loading state", async () => {
    installFakeFloe({ ...healthy(), GetFreshness: new Hang() as never });
    await renderSuspended(Freshness, { route: "/freshness" });
    expect(screen.getByTestId("loading")).toBeTruthy();
  });

  it("shows latest and materialized snapshots and the lag per view", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Freshness, { route: "/freshness" });
    const table = await screen.findByTestId("freshness-table");
    const row = (v: string) => table.querySelector(`tr[data-view="${v}"]`) as HTMLElement;
    expect(row("user_behavior").textContent).toContain("behind");
    expect(row("user_behavior").textContent).toContain("202");
    expect(row("user_behavior").textContent).toContain("201");
    expect(row("user_behavior").textContent).toContain("1 h");
    expect(row("user_profile").textContent).toContain("up to date");
    expect(row("card_activity").textContent).toContain("no snapshot yet");
  });

  it("shows the recent commits of the first view, then of the chosen one", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Freshness, { route: "/freshness" });
    const history = await screen.findByTestId("history-table");
    expect(within(history).getAllByRole("row")).toHaveLength(3);
    expect(within(history).getByText("not yet")).toBeTruthy();
    expect(fake.calls("ListSnapshots")[0].view).toBe("user_behavior");
    const select = screen.getByLabelText("Feature view") as HTMLSelectElement;
    select.value = "user_profile";
    await fireEvent.change(select);
    await screen.findByText("Recent Iceberg snapshots of user_profile, newest first");
    expect(useRouter().currentRoute.value.query.view).toBe("user_profile");
    expect(fake.calls("ListSnapshots").at(-1).view).toBe("user_profile");
  });

  it("says this server publishes, and when its last pass ran", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Freshness, { route: "/freshness" });
    const status = await screen.findByTestId("materializer");
    expect(status.dataset.role).toBe("FOLLOWER");
    expect(status.textContent).toContain("This server publishes new snapshots");
    expect(within(status).getByTestId("materializer-last-pass").textContent).toContain("Last pass over every view");
  });

  it("names the leader while this server stands by", async () => {
    installFakeFloe({
      ...healthy(),
      GetFreshness: () => ({ ...freshness, materializer: { role: MaterializerStatus_Role.STANDBY, leader: "floe-2/4711/9ab3", lastError: "" } }),
    });
    await renderSuspended(Freshness, { route: "/freshness" });
    const status = await screen.findByTestId("materializer");
    expect(status.textContent).toContain("Another server publishes new snapshots");
    expect(status.textContent).toContain("floe-2/4711/9ab3 holds the lease");
    expect(within(status).queryByTestId("materializer-last-pass")).toBeNull();
  });

  it("says the lease holder is this server", async () => {
    installFakeFloe({
      ...healthy(),
      GetFreshness: () => ({ ...freshness, materializer: { role: MaterializerStatus_Role.LEADER, leader: "floe-1/42/77aa", lastError: "" } }),
    });
    await renderSuspended(Freshness, { route: "/freshness" });
    expect((await screen.findByTestId("materializer")).textContent).toContain("holds the lease of the servers sharing this online store (as floe-1/42/77aa)");
  });

  it("shows a failing pass with its reason", async () => {
    installFakeFloe({
      ...healthy(),
      GetFreshness: () => ({ ...freshness, materializer: { ...freshness.materializer, lastError: "materialize user_behavior: catalog unreachable" } }),
    });
    await renderSuspended(Freshness, { route: "/freshness" });
    const status = await screen.findByTestId("materializer");
    expect(status.textContent).toContain("Publishing is failing");
    expect(status.textContent).toContain("catalog unreachable");
  });

  it("says when this server does not follow Iceberg", async () => {
    installFakeFloe({ ...healthy(), GetFreshness: () => ({ ...freshness, materializer: { role: MaterializerStatus_Role.OFF, leader: "", lastError: "" } }) });
    await renderSuspended(Freshness, { route: "/freshness" });
    expect((await screen.findByTestId("materializer")).textContent).toContain("materialize.follow is off");
  });

  it("says when a view has no snapshot", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Freshness, { route: "/freshness?view=card_activity" });
    expect((await screen.findByTestId("history-empty")).textContent).toContain("no snapshot yet");
  });

  it("shows an empty registry", async () => {
    installFakeFloe({ ...healthy(), GetFreshness: () => ({ views: [] }) });
    await renderSuspended(Freshness, { route: "/freshness" });
    await screen.findByTestId("state-empty");
  });

  it("shows a backend outage and recovers on retry", async () => {
    const fake = installFakeFloe({ ...healthy(), GetFreshness: new NetworkDown() as never });
    await renderSuspended(Freshness, { route: "/freshness" });
    const state = await screen.findByTestId("state-outage");
    fake.on("GetFreshness", () => freshness);
    await fireEvent.click(within(state).getByRole("button", { name: /Retry/ }));
    await screen.findByTestId("freshness-table");
  });

  it("shows other errors with their code", async () => {
    installFakeFloe({ ...healthy(), GetFreshness: new RpcFault("internal", "catalog: table metadata corrupt") as never });
    await renderSuspended(Freshness, { route: "/freshness" });
    expect((await screen.findByTestId("state-error")).textContent).toContain("Loading freshness failed (internal)");
  });

  it("shows a history error apart from the table", async () => {
    installFakeFloe({ ...healthy(), ListSnapshots: new RpcFault("unavailable", "catalog unreachable") as never });
    await renderSuspended(Freshness, { route: "/freshness" });
    await screen.findByTestId("freshness-table");
    expect((await screen.findByTestId("history-error")).textContent).toContain("catalog unreachable");
  });

  it("shows a loading state for the history", async () => {
    installFakeFloe({ ...healthy(), ListSnapshots: new Hang() as never });
    await renderSuspended(Freshness, { route: "/freshness" });
    await screen.findByTestId("history-loading");
  });
});
