import { renderSuspended } from "@nuxt/test-utils/runtime";
import { fireEvent, screen, waitFor, within } from "@testing-library/vue";
import { describe, expect, it } from "vitest";
import Serving from "~/pages/serving.vue";
import { Hang, NetworkDown, RpcFault, installFakeFloe } from "./fake-floe";
import { healthy, servingStats } from "./fixtures";

const fast = "/serving?interval=0.1";

describe("Serving", () => {
  it("shows a loading state until the first sample", async () => {
    installFakeFloe({ ...healthy(), GetServingStats: new Hang() as never });
    await renderSuspended(Serving, { route: fast });
    expect(screen.getByTestId("loading")).toBeTruthy();
  });

  it("collects a second sample before showing rates", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Serving, { route: "/serving?interval=60" });
    await screen.findByTestId("state-collecting");
  });

  it("derives requests/s, p50/p99, hit ratio per tier and errors from counter deltas", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Serving, { route: fast });
    await waitFor(() => expect(screen.getByTestId("rps").textContent).toBe("10"));
    expect(screen.getByTestId("p50").textContent).toBe("1 ms");
    expect(screen.getByTestId("p99").textContent).toBe("22 ms");
    expect(screen.getByTestId("errors").textContent).toBe("1");
    const tiers = screen.getByTestId("tiers-table");
    expect(within(tiers).getByRole("row", { name: /l1/ }).textContent).toContain("60 %");
    expect(within(tiers).getByRole("row", { name: /online/ }).textContent).toContain("30 %");
    expect(within(tiers).getByRole("row", { name: /offline/ }).textContent).toContain("10 %");
    expect(within(screen.getByTestId("errors-table")).getByText("invalid_argument")).toBeTruthy();
    for (const title of ["Requests per second", "Latency", "Hit ratio per tier", "Errors per code"]) {
      expect(screen.getByText(title, { selector: "figcaption" })).toBeTruthy();
    }
    expect(screen.getByRole("img", { name: /Requests per second, latest: requests\/s 10 req\/s/ })).toBeTruthy();
    expect(fake.calls("GetServingStats").length).toBeGreaterThanOrEqual(2);
  });

  it("filters by method, in the URL", async () => {
    installFakeFloe(healthy());
    await renderSuspended(Serving, { route: fast });
    await waitFor(() => expect(screen.getByTestId("rps").textContent).toBe("10"));
    const select = screen.getByLabelText("Methods") as HTMLSelectElement;
    select.value = "all";
    await fireEvent.change(select);
    await waitFor(() => expect(screen.getByTestId("rps").textContent).toBe("10.5"));
    expect(useRouter().currentRoute.value.query.method).toBe("all");
  });

  it("says when there is no traffic", async () => {
    installFakeFloe({ ...healthy(), GetServingStats: (_: unknown, call: number) => ({ ...servingStats(1), at: servingStats(call).at }) });
    await renderSuspended(Serving, { route: fast });
    await screen.findByTestId("state-no-traffic");
    expect(screen.getByTestId("rps").textContent).toBe("0");
    expect(screen.getByTestId("p50").textContent).toBe("— ms");
  });

  it("shows a backend outage before any sample", async () => {
    installFakeFloe({ ...healthy(), GetServingStats: new NetworkDown() as never });
    await renderSuspended(Serving, { route: fast });
    expect((await screen.findByTestId("state-outage")).textContent).toContain("Floe is unavailable");
  });

  it("keeps the charts and flags them stale when polling fails later", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Serving, { route: fast });
    await waitFor(() => expect(screen.getByTestId("rps").textContent).toBe("10"));
    fake.on("GetServingStats", new RpcFault("unavailable", "server shutting down"));
    expect((await screen.findByTestId("poll-error")).textContent).toContain("the charts are stale");
    expect(screen.getByTestId("rps").textContent).toBe("10");
  });

  it("shows other errors with their code", async () => {
    installFakeFloe({ ...healthy(), GetServingStats: new RpcFault("unimplemented", "GetServingStats is not implemented") as never });
    await renderSuspended(Serving, { route: fast });
    expect((await screen.findByTestId("state-error")).textContent).toContain("(unimplemented)");
  });

  it("pauses and resumes polling", async () => {
    const fake = installFakeFloe(healthy());
    await renderSuspended(Serving, { route: fast });
    await waitFor(() => expect(screen.getByTestId("rps").textContent).toBe("10"));
    const button = screen.getByRole("button", { name: "Pause" });
    await fireEvent.click(button);
    const n = fake.calls("GetServingStats").length;
    await new Promise((r) => setTimeout(r, 350));
    expect(fake.calls("GetServingStats").length).toBeLessThanOrEqual(n + 1);
    expect(screen.getByRole("button", { name: "Resume" }).getAttribute("aria-pressed")).toBe("true");
  });
});
