/**
 * Flow 5: project types and projects; the bindings editor per tab with the
 * search_template placeholders and a preview rendered for a project; the
 * API's binding errors on the row they name; a project's effective bindings
 * with the Plugin node that wins and why.
 */
import assert from "node:assert/strict";
import { assertAccessible, consoleTest, landsOn, screenshot } from "../support/console.ts";

consoleTest(
  "console projects: bindings editor with template previews, effective bindings and who wins",
  async (rig, t) => {
    await rig.api("POST", "/orgs", { slug: "acme", name: "Acme" });
    await rig.api("POST", "/orgs/acme/project-types", { slug: "http-api", name: "HTTP API" });
    await rig.api("POST", "/orgs/acme/projects", { slug: "web", name: "Web", project_types: ["http-api"] });
    const svc = "/orgs/acme/third-party-services";
    await rig.api("POST", svc, { slug: "demo", name: "Demo" });
    await rig.api("POST", `${svc}/demo/plugins`, {
      slug: "config",
      plugin: "demo-config",
      label: "Demo configuration",
    });
    await rig.api("POST", `${svc}/demo/plugins`, { slug: "config-two", plugin: "demo-config", label: "Second config" });
    await rig.api("POST", `${svc}/demo/plugins`, { slug: "logs", plugin: "demo-logs", label: "Demo logs" });
    const page = await rig.signedIn();

    await t.step("the Projects page lists types and projects and adds a project", async () => {
      await page.getByRole("link", { name: "Projects", exact: true }).click();
      await page.getByLabel("Project slug").fill("api");
      await page.getByLabel("Project name").fill("Public API");
      await page.getByLabel("Project types").fill("http-api, no-such-type");
      await page.getByRole("button", { name: "Add project", exact: true }).click();
      assert.match(await page.getByRole("alert").innerText(), /no-such-type/);
      await page.getByLabel("Project types").fill("http-api");
      await page.getByRole("button", { name: "Add project", exact: true }).click();
      await landsOn(page, /\/ui\/projects\?notice=created$/);
      assert.equal(await page.getByRole("link", { name: "Public API" }).count(), 1);
      await assertAccessible(page, "projects page");
      await screenshot(page, "projects");
    });

    await t.step("the editor lists the placeholders and previews a template for a project as it is typed", async () => {
      await page.getByRole("link", { name: "HTTP API" }).click();
      assert.match(await page.locator("form.card").innerText(), /\{org\.slug\}.*\{project\.slug\}/s);
      await page.getByLabel("Preview templates for project").selectOption("web");
      await page.getByLabel("Plugin node of New configuration binding").selectOption({
        label: "demo/config (demo-config)",
      });
      await page.getByLabel("Default for New configuration binding").check();
      const template = page.getByLabel("search_template of New configuration binding");
      await template.fill("/{org.slug}/{nope}");
      const preview = page.locator(`#${await template.getAttribute("id")}-help`);
      await page.waitForFunction(
        (el) => el?.textContent?.includes("unknown placeholder"),
        await preview.elementHandle(),
      );
      await template.fill("/{org.slug}/{project.slug}");
      await page.waitForFunction((el) => el?.textContent?.includes("/acme/web"), await preview.elementHandle());
    });

    await t.step("a binding the API refuses shows the error on its row; a good one saves", async () => {
      await page.getByLabel("Plugin node of New logs binding").selectOption({ label: "demo/logs (demo-logs)" });
      await page.getByLabel("search_template of New logs binding").fill("{project.name}-{bad}");
      await page.getByRole("button", { name: "Save bindings" }).click();
      const bad = page.getByLabel("search_template of logs binding 2");
      assert.equal(await bad.getAttribute("aria-invalid"), "true");
      assert.match(
        await page.locator(`#${await bad.getAttribute("id")}-error`).innerText(),
        /unknown placeholder \{bad\}/,
      );
      assert.equal(await bad.inputValue(), "{project.name}-{bad}", "the rows come back as typed");
      await bad.fill("{project.slug}");
      await page.getByRole("button", { name: "Save bindings" }).click();
      await landsOn(page, /\/project-types\/http-api\?notice=bound$/);
      const saved = await rig.api("GET", "/orgs/acme/project-types/http-api/plugins");
      assert.deepEqual(
        saved.bindings.map((
          b: { tab: string; default: boolean; search_template: string },
        ) => [b.tab, b.default, b.search_template]),
        [
          ["configuration", true, "/{org.slug}/{project.slug}"],
          ["logs", false, "{project.slug}"],
        ],
      );
      await assertAccessible(page, "bindings editor");
      await screenshot(page, "bindings");
    });

    await t.step("a project's own default wins over its type's, and the page says why", async () => {
      await page.goto(`${rig.service.url}/ui/orgs/acme/projects/web/bindings`);
      assert.match(
        await page.locator("main").innerText(),
        /Answered by Demo configuration because it is the default binding of one of its project types/,
      );
      await page.getByLabel("Plugin node of New configuration binding").selectOption({
        label: "demo/config-two (demo-config)",
      });
      await page.getByLabel("Default for New configuration binding").check();
      await page.getByRole("button", { name: "Save bindings" }).click();
      await landsOn(page, /\/projects\/web\/bindings\?notice=bound$/);
      const config = page.getByRole("region", { name: "Tab configuration" });
      assert.match(
        await config.innerText(),
        /Answered by Second config because it is the project's own default binding/,
      );
      assert.match(await config.innerText(), /Second config demo\/config-two\s\(wins\)\s+project\s+yes/);
      assert.match(await config.innerText(), /Demo configuration demo\/config\s+project_type:http-api\s+yes/);
      assert.match(
        await page.getByRole("region", { name: "Tab logs" }).innerText(),
        /because it is the only available binding/,
      );
      await assertAccessible(page, "project bindings");
      await screenshot(page, "effective-bindings");
    });
  },
);
