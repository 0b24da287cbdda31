/**
 * Flow 6: a project page with its "Configuration" and "Logs" tabs answered
 * by the demo plugins: the source block, secret values masked and revealed
 * only for an admin on request, add, edit and delete; logs with level and
 * field filters, cursor paging and the histogram.
 */
import assert from "node:assert/strict";
import { assertAccessible, consoleTest, landsOn, screenshot } from "../support/console.ts";

consoleTest("console project page: Configuration and Logs tabs with the source block", async (rig, t) => {
  await rig.api("POST", "/orgs", { slug: "acme", name: "Acme" });
  await rig.api("POST", "/orgs/acme/project-types", { slug: "http-api", name: "HTTP API" });
  await rig.api("POST", "/orgs/acme/projects", { slug: "web", name: "Web", project_types: ["http-api"] });
  const svc = "/orgs/acme/third-party-services";
  await rig.api("POST", svc, { slug: "demo", name: "Demo" });
  const config = await rig.api("POST", `${svc}/demo/plugins`, {
    slug: "config",
    plugin: "demo-config",
    label: "Demo configuration",
    options: { seed: { GREETING: "hello" } },
  });
  const logs = await rig.api("POST", `${svc}/demo/plugins`, { slug: "logs", plugin: "demo-logs", label: "Demo logs" });
  await rig.api("PUT", "/orgs/acme/project-types/http-api/plugins", {
    bindings: [
      { plugin_id: config.id, tab: "configuration", default: true, search_template: "/{org.slug}/{project.slug}" },
      { plugin_id: logs.id, tab: "logs", default: true, search_template: "{project.slug}" },
    ],
  });
  const page = await rig.signedIn();
  const project = `${rig.service.url}/ui/orgs/acme/projects/web`;

  await t.step("the Configuration tab lists keys and values and says which plugin answered and why", async () => {
    await page.goto(`${rig.service.url}/ui/projects`);
    await page.getByRole("link", { name: "Web", exact: true }).click();
    const tabs = page.getByRole("navigation", { name: "Project tabs" });
    assert.equal(await tabs.getByRole("link", { name: "Configuration" }).getAttribute("aria-current"), "page");
    assert.equal(await tabs.getByRole("link", { name: "Logs" }).count(), 1);
    assert.match(
      await page.locator(".source").innerText(),
      /Answered by Demo configuration \(demo\/config, entry point demo-config\) from package @imbi\/plugin-demo-config 1\.0\.0 because it is a project type's default for this tab \(binding from project_type:http-api\)/,
    );
    assert.match(await page.getByRole("table").innerText(), /GREETING\s+string\s+hello/);
  });

  await t.step("a secret value is added masked, and only revealed on request", async () => {
    await page.getByLabel("Key", { exact: true }).fill("DB_PASSWORD");
    await page.getByLabel("Data type").selectOption("secret");
    await page.getByLabel("Value").fill("console-db-password");
    await page.getByRole("button", { name: "Save key" }).click();
    await landsOn(page, /tab=configuration&notice=saved$/);
    assert.match(await page.getByRole("table").innerText(), /DB_PASSWORD\s+secret \(secret\)\s+\*{8}/);
    assert.ok(!(await page.content()).includes("console-db-password"), "the value is not in the page");
    await page.getByRole("button", { name: "Reveal DB_PASSWORD" }).click();
    await page.getByText("console-db-password").waitFor();
    await assertAccessible(page, "configuration tab");
    await screenshot(page, "configuration");
  });

  await t.step("a read token sees the mask and no control", async () => {
    const reader = await rig.signedIn({ read: true });
    await reader.goto(project);
    assert.match(await reader.getByRole("table").innerText(), /DB_PASSWORD\s+secret \(secret\)\s+\*{8}/);
    assert.equal(await reader.getByRole("button", { name: /Reveal|Delete|Save/ }).count(), 0);
    assert.ok(!(await reader.content()).includes("console-db-password"));
    await reader.context().close();
  });

  await t.step("a key is edited and deleted", async () => {
    await page.getByLabel("Key", { exact: true }).fill("GREETING");
    await page.getByLabel("Value").fill("hi there");
    await page.getByRole("button", { name: "Save key" }).click();
    await landsOn(page, /notice=saved$/);
    assert.match(await page.getByRole("table").innerText(), /GREETING\s+string\s+hi there/);
    await page.getByRole("button", { name: "Delete DB_PASSWORD" }).click();
    await landsOn(page, /notice=deleted$/);
    assert.doesNotMatch(await page.getByRole("table").innerText(), /DB_PASSWORD/);
  });

  await t.step("the Logs tab filters by level and field, pages by cursor, and draws the histogram", async () => {
    await page.getByRole("navigation", { name: "Project tabs" }).getByRole("link", { name: "Logs" }).click();
    assert.match(
      await page.locator(".source").innerText(),
      /Answered by Demo logs .* from package @imbi\/plugin-demo-logs/,
    );
    assert.equal(await page.locator("svg.chart rect").count() > 0, true, "a histogram bar per bucket");
    await page.getByLabel("From (UTC)").fill(new Date(Date.now() - 3 * 3600_000).toISOString().slice(0, 16));
    await page.getByLabel("error").check();
    await page.getByLabel("Field 1").selectOption("stream");
    await page.getByLabel("Value 1").fill("web");
    await page.getByLabel("Entries per page").selectOption("10");
    await page.getByRole("button", { name: "Search logs" }).click();
    await landsOn(page, /level=error/);
    const levels = await page.locator("main table tbody tr td:nth-child(2)").allInnerTexts();
    assert.equal(levels.length, 10);
    assert.deepEqual([...new Set(levels)], ["error"]);
    const firstPage = await page.locator("main table tbody tr td:nth-child(1)").allInnerTexts();
    await assertAccessible(page, "logs tab");
    await screenshot(page, "logs");
    await page.getByRole("link", { name: "Older entries" }).click();
    await landsOn(page, /cursor=/);
    const secondPage = await page.locator("main table tbody tr td:nth-child(1)").allInnerTexts();
    assert.ok(secondPage.length > 0 && secondPage[0]! < firstPage.at(-1)!, "the next page is older");
    assert.deepEqual([...new Set(await page.locator("main table tbody tr td:nth-child(2)").allInnerTexts())], [
      "error",
    ]);
  });
});
