// End-to-end tests of the console in Debian's chromium against a real Floe.
// Each test leaves a screenshot in test-output/console/.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { join } from "node:path";
import { latestRow, screenshots, start } from "./harness.mjs";

let env;
let page;
let problems; // console errors and failed requests of the current test

before(async () => {
  env = await start();
  console.log(`# console at ${env.consoleUrl} (served by ${env.served}), floe at ${env.floeUrl}`);
}, { timeout: 240_000 });

after(async () => {
  await env?.stop();
});

beforeEach(async () => {
  page = await env.context.newPage();
  page.setDefaultTimeout(20_000);
  problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()} ${m.location()?.url ?? ""}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()} ${r.url()}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
});

afterEach(async () => {
  await page.close();
});

async function shot(name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

function url(path) {
  return new URL(path, env.consoleUrl).href;
}

describe("console", () => {
  test("inspector: type an id and see its values", async () => {
    await page.goto(env.consoleUrl);
    const id = page.getByLabel("user_id");
    await id.fill("1");
    await id.press("Enter");
    const table = page.getByTestId("feature-table");
    await table.waitFor();
    const profile = latestRow(env.csv.user_profile, 1);
    assert.equal(await table.locator('[data-feature="user_profile:city"]').textContent(), profile.city);
    assert.equal(await table.locator('[data-feature="user_profile:age"]').textContent(), profile.age);
    assert.equal(await table.locator('[data-feature="user_behavior:sessions_7d"]').textContent(), env.after.sessions_7d);
    const row = table.getByRole("row").filter({ hasText: "sessions_7d" });
    assert.match(await row.textContent(), /present/);
    assert.match(await row.textContent(), /online store|L1 cache/);
    const u = new URL(page.url());
    assert.equal(u.searchParams.get("user_id"), "1");
    assert.equal(u.searchParams.get("entity"), "user");
    await shot("inspector");
    assert.deepEqual(problems, []);
  });

  test("inspector: invalid and unknown ids are told apart", async () => {
    await page.goto(url("?entity=user&service=pricing_agent_v1&user_id=abc"));
    await page.getByTestId("state-invalid").waitFor();
    assert.match(await page.getByTestId("state-invalid").textContent(), /not a valid user_id/);
    const id = page.getByLabel("user_id");
    await id.fill("987654321");
    await id.press("Enter");
    await page.getByTestId("state-unknown").waitFor();
    assert.match(await page.getByTestId("state-unknown").textContent(), /No feature view has a row for user_id 987654321/);
    await shot("inspector-unknown");
    assert.deepEqual(problems, []);
  });

  test("inspector: keyboard only, from the skip link to the values", async () => {
    await page.goto(env.consoleUrl);
    await page.getByLabel("user_id").waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Skip to content");
    // Tab on until the id field has the focus (bounded: a handful of controls).
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(() => document.activeElement?.closest("[data-slot=root]") !== null && document.activeElement?.tagName === "INPUT" && document.activeElement.getAttribute("type") !== "datetime-local")) break;
    }
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name") ?? document.activeElement?.id), await page.getByLabel("user_id").evaluate((e) => e.getAttribute("name") ?? e.id));
    await page.keyboard.type("2");
    await page.keyboard.press("Enter");
    await page.getByTestId("feature-table").waitFor();
    assert.equal(new URL(page.url()).searchParams.get("user_id"), "2");
    await shot("inspector-keyboard");
    assert.deepEqual(problems, []);
  });

  test("time travel: move the picker and see the diff", async () => {
    await page.goto(url("time-travel?entity=user&service=pricing_agent_v1&user_id=1"));
    const slider = page.getByLabel("From on the commit timeline");
    await slider.waitFor();
    // Three commits: user_profile, user_behavior, then the update of user 1.
    assert.equal(await slider.getAttribute("max"), "2");
    await slider.focus();
    await page.keyboard.press("Home"); // the first commit: user_behavior had no snapshot yet
    await page.getByTestId("diff-table").waitFor();
    assert.match(await page.getByTestId("diff-summary").textContent(), /6 of 8 features changed/);
    await page.keyboard.press("ArrowRight"); // the first user_behavior commit
    await page.getByTestId("diff-summary").filter({ hasText: "2 of 8 features changed" }).waitFor();
    const changed = page.locator('[data-testid="diff-table"] tr[data-changed="true"]');
    assert.equal(await changed.count(), 2);
    const sessions = changed.filter({ hasText: "sessions_7d" });
    const text = await sessions.textContent();
    assert.ok(text.includes(env.before.sessions_7d) && text.includes(env.after.sessions_7d), text);
    assert.equal(await changed.filter({ hasText: "purchases_30d" }).count(), 1);
    assert.match(new URL(page.url()).searchParams.get("from") ?? "", /^\d{4}-\d\d-\d\dT/);
    await shot("time-travel");
    assert.deepEqual(problems, []);
  });

  test("registry: follow a lineage link", async () => {
    await page.goto(url("registry"));
    const lineage = page.getByTestId("lineage");
    await lineage.waitFor();
    assert.match(await page.getByTestId("registry-version").textContent(), /^[0-9a-f]{8,}$/);
    await shot("registry");
    await lineage.getByRole("link", { name: "user_behavior", exact: true }).click();
    await page.getByRole("heading", { name: "Feature view user_behavior" }).waitFor();
    assert.equal(new URL(page.url()).pathname.replace(/\/$/, ""), new URL(env.consoleUrl).pathname + "registry/views/user_behavior");
    await page.getByTestId("read-by").getByRole("link", { name: "pricing_agent_v1" }).click();
    await page.getByRole("heading", { name: "Feature service pricing_agent_v1" }).waitFor();
    await shot("registry-lineage");
    // A shared deep link loads on its own (the server's SPA fallback).
    await page.goto(url("registry/views/user_profile"));
    await page.getByRole("heading", { name: "Feature view user_profile" }).waitFor();
    assert.deepEqual(problems, []);
  });

  test("registry: a feature service's outputs, raw and transformed", async () => {
    // What the server says pricing_agent_v2 returns; the page must show exactly that.
    const res = await fetch(`${env.floeUrl}/floe.v1.RegistryService/GetFeatureService`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "pricing_agent_v2" }),
    });
    assert.equal(res.status, 200);
    const { featureService: svc } = await res.json();
    await page.goto(url("registry"));
    await page.getByRole("link", { name: "pricing_agent_v2", exact: true }).first().click();
    await page.getByRole("heading", { name: "Feature service pricing_agent_v2" }).waitFor();
    const table = page.getByTestId("service-outputs");
    await table.waitFor();
    const rows = await table.locator("tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({
        name: tr.querySelector("th").textContent.trim(),
        ref: tr.querySelector('[data-col="ref"]').textContent.trim(),
        type: tr.querySelector('[data-col="type"]').textContent.trim(),
        transform: tr.querySelector('[data-col="transform"]').textContent.trim(),
        steps: [...tr.querySelectorAll('[data-col="transform"] li')].map((li) => [...li.querySelectorAll("code")].filter((c) => !c.closest("summary")).map((c) => c.textContent).join("")),
      })),
    );
    // The spec's order and names (specs/examples/pricing/pricing.yaml).
    assert.deepEqual(rows.map((r) => r.name), ["age_bucket", "city_index", "sessions_7d_log", "purchases_30d_log", "avg_order_value_30d_z", "cart_abandon_rate_7d", "user_behavior:price_sensitivity", "is_premium"]);
    assert.deepEqual(
      rows,
      svc.outputs.map((o) => ({
        name: o.name,
        ref: o.ref,
        type: `${o.valueType.replace(/^VALUE_TYPE_/, "").toLowerCase()}${o.dim ? `[${o.dim}]` : ""}`,
        transform: o.transform?.length ? rows.find((r) => r.name === o.name).transform : "raw",
        steps: o.transform ?? [],
      })),
    );
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    assert.deepEqual(byName.sessions_7d_log.steps, ["clip(min=0,max=100)", "log1p"]);
    assert.equal(byName.sessions_7d_log.type, "double");
    assert.equal(byName["user_behavior:price_sensitivity"].transform, "raw");
    assert.match(byName.city_index.steps[1], /^lookup\(vocabulary=\["Amsterdam" "Berlin" .*"Warsaw"\],oov_buckets=1\)$/);
    // Written parameters: no step is fitted and there is no provenance to show.
    assert.equal(await table.locator("[data-fitted]").count(), 0);
    assert.equal(await page.getByTestId("service-fit").count(), 0);
    await shot("registry-service-outputs");
    await table.locator('tr[data-output="city_index"]').getByRole("link", { name: "user_profile" }).click();
    await page.getByRole("heading", { name: "Feature view user_profile" }).waitFor();
    assert.deepEqual(problems, []);
  });

  test("freshness: latest, materialized and history per view", async () => {
    await page.goto(url("freshness?view=user_behavior"));
    const table = page.getByTestId("freshness-table");
    await table.waitFor();
    assert.match(await table.locator('tr[data-view="user_behavior"]').textContent(), /up to date/);
    // The demo's in-process store has one publisher: this server.
    const materializer = page.getByTestId("materializer");
    assert.equal(await materializer.getAttribute("data-role"), "FOLLOWER");
    assert.match(await materializer.textContent(), /This server publishes new snapshots/);
    const history = page.getByTestId("history-table");
    await history.waitFor();
    assert.equal(await history.locator("tbody tr").count(), 2);
    await shot("freshness");
    assert.deepEqual(problems, []);
  });

  test("serving: live charts from the server's counters", async () => {
    await page.goto(url("serving?interval=1"));
    // Traffic: bounded reads of the real server on loopback while the page polls.
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const id = 1 + (i % 50);
        await fetch(`${env.floeUrl}/floe.v1.ServingService/GetOnlineFeatures`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ featureService: "pricing_agent_v1", entities: [{ joinKey: "user_id", int64Values: { values: [String(id)] } }] }),
        });
        if (i % 100 === 99) await fetch(`${env.floeUrl}/floe.v1.ServingService/GetOnlineFeatures`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="rps"]')?.textContent) > 5, null, { timeout: 30_000 });
      await page.waitForFunction(() => (document.querySelector('[data-testid="p99"]')?.textContent ?? "—").match(/^\d/), null, { timeout: 10_000 });
      await page.waitForTimeout(3_000); // a few more points on the charts
    } finally {
      stop = true;
      await traffic;
    }
    const tiers = await page.getByTestId("tiers-table").textContent();
    assert.match(tiers, /online|l1/);
    assert.equal(await page.locator("canvas").count(), 4);
    await shot("serving");
    assert.deepEqual(problems, []);
  });
});
