/**
 * Flow 3 and 8: every package and entry point with status; install from the
 * catalog after a preview and an explicit confirmation (a package from the
 * loopback Verdaccio), with progress while it runs; a bad specifier refused
 * in place; upgrade with the diff; remove refused while a Plugin node uses
 * the package, listing it; rollback from the history; reload.
 */
import assert from "node:assert/strict";
import { assertAccessible, consoleTest, NPM, screenshot } from "../support/console.ts";
import { publishFixture } from "../support/npm_publish.ts";
import { ROOT } from "../support/test_app.ts";

const PROBE = "@imbi-test/admin-probe";

consoleTest(
  "console plugins: install with preview and confirmation, upgrade diff, in-use refusal, rollback, reload",
  async (rig, t) => {
    assert.ok(NPM, "the console's plugin flow needs the loopback npm registry (IMBI_TEST_NPM_REGISTRY)");
    for (const version of ["1.0.0", "1.1.0", "2.0.0"]) {
      await publishFixture(NPM, `${ROOT}tests/fixtures/admin/probe`, { version, unlessPublished: true });
    }
    const page = await rig.signedIn();

    await t.step("the Plugins page lists every package and entry point with its status", async () => {
      const packages = page.getByRole("region", { name: "Installed packages" });
      for (const name of ["@imbi/plugin-demo-config", "@imbi/plugin-demo-logs", "@imbi-test/console-forms"]) {
        assert.match(await packages.innerText(), new RegExp(`${name} 1\\.0\\.0 loaded`));
      }
      assert.match(await packages.innerText(), /demo-config\s+configuration\s+\^1\.0\.0\s+none\s+none\s+loaded/);
      assert.match(
        await packages.innerText(),
        /console-forms\s+configuration\s+\^1\.0\.0\s+forms\.example\.com\s+api_token \(secret\)/,
      );
      const incompatible = packages.locator(".card", { hasText: "@imbi-test/incompatible" });
      assert.match(await incompatible.innerText(), /future-config\s+configuration\s+\^2\.0\.0[\s\S]*incompatible/);
      assert.match(await incompatible.locator(".reason").first().innerText(), /\^2\.0\.0/);
      assert.equal(await incompatible.locator("tr.bad").count(), 1, "the incompatible entry point stands out");
      await page.getByRole("link", { name: "Install admin-probe…" }).waitFor({ timeout: 60_000 });
      await assertAccessible(page, "plugins page");
      await screenshot(page, "plugins");
    });

    await t.step("a bad specifier is refused in place, naming the rule", async () => {
      await page.getByLabel("Package specifier").fill("npm:@imbi-test/admin-probe@not-a-range");
      await page.getByRole("button", { name: "Preview" }).click();
      assert.match(await page.getByRole("alert").innerText(), /specifier/);
      assert.equal(await page.getByRole("button", { name: "Install" }).count(), 0, "nothing to confirm");
    });

    await t.step(
      "install from the catalog: preview, explicit confirmation, progress, then what it brings",
      async () => {
        await page.goto(`${rig.service.url}/ui/plugins`);
        await page.getByRole("link", { name: "Install admin-probe…" }).click({ timeout: 60_000 });
        assert.match(await page.locator("main").innerText(), /Resolves to version 1\.1\.0/);
        const preview = page.getByRole("region", { name: "What @imbi-test/admin-probe 1.1.0 will be allowed" });
        assert.match(
          await preview.innerText(),
          /admin-probe\s+configuration\s+\^1\.0\.0\s+\{gate_url\} \(checked when a Plugin node is written\)\s+token \(secret\)/,
        );
        assert.equal((await rig.api("GET", "/admin/plugins")).items.length, 4, "nothing installed by the preview");
        const install = page.getByRole("button", { name: "Install" });
        await install.click();
        assert.equal(
          await page.getByLabel(/I accept the entry points/).evaluate((e) =>
            (e as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing
          ),
          true,
          "no install without the confirmation",
        );
        await page.getByLabel(/I accept the entry points/).check();
        await install.click();
        await page.locator("#progress.htmx-request").waitFor({ state: "visible" });
        await page.getByText("Install: done").waitFor();
        const result = await page.locator("#op-result").innerText();
        assert.match(result, /@imbi-test\/admin-probe 1\.1\.0 loaded/);
        assert.match(result, /admin-probe\s+configuration\s+\^1\.0\.0\s+\{gate_url\}\s+token \(secret\)\s+loaded/);
        await assertAccessible(page, "install result");
        await screenshot(page, "install");
      },
    );

    await t.step("upgrade asks for the same confirmation and shows the diff", async () => {
      await page.goto(`${rig.service.url}/ui/plugins`);
      await page.getByLabel(`New version or range for ${PROBE}`).fill("^2");
      await page.locator("form", { has: page.getByLabel(`New version or range for ${PROBE}`) }).getByRole("button", {
        name: "Upgrade…",
      }).click();
      assert.match(await page.locator("main").innerText(), /New in this version: .*status\.example\.com/);
      const before = await page.locator(".card", { hasText: "Changes from the installed version" }).innerText();
      assert.match(before, /entry point added: admin-probe-logs \(logs, api_version \^1\.0\.0\)/);
      assert.match(before, /admin-probe: api_version \^1\.0\.0 → >=1\.0\.0 <2\.0\.0/);
      assert.match(before, /admin-probe: network hosts \{gate_url\} → \{gate_url\}, status\.example\.com/);
      assert.match(before, /admin-probe: credential fields token → token, region/);
      await page.getByLabel(/I accept the entry points/).check();
      await page.getByRole("button", { name: "Upgrade" }).click();
      await page.getByText(`Upgrade of ${PROBE}: done`).waitFor();
      const diff = await page.locator("#op-result").innerText();
      assert.match(diff, /Changes from 1\.1\.0 to 2\.0\.0/);
      assert.match(diff, /status\.example\.com/);
      assert.match(diff, /admin-probe-logs/);
      await screenshot(page, "upgrade");
    });

    await t.step("remove is refused while a Plugin node uses the package, listing the node", async () => {
      await rig.api("POST", "/orgs", { slug: "acme", name: "Acme" });
      await rig.api("POST", "/orgs/acme/third-party-services", { slug: "gate", name: "Gate" });
      await rig.api("POST", "/orgs/acme/third-party-services/gate/applications", {
        slug: "default",
        name: "Default",
        credentials: { token: "probe-token-value" },
      });
      await rig.api("POST", "/orgs/acme/third-party-services/gate/plugins", {
        slug: "probe",
        plugin: "admin-probe",
        label: "Probe",
        options: { gate_url: "http://127.0.0.1:9" },
      });
      await page.goto(`${rig.service.url}/ui/plugins`);
      await page.getByRole("button", { name: `Remove ${PROBE}` }).click();
      const refusal = page.locator("#op-result");
      await refusal.getByRole("alert").waitFor();
      assert.match(await refusal.innerText(), /in use|uses|used/i);
      assert.equal(await refusal.getByRole("link", { name: "acme/gate/probe" }).count(), 1);
      assert.equal(await refusal.getByRole("button", { name: "Remove anyway and disable these nodes" }).count(), 1);
      await screenshot(page, "remove-refused");
    });

    await t.step("rollback from the history, then reload", async () => {
      await page.goto(`${rig.service.url}/ui/plugins`);
      const history = page.getByRole("region", { name: "History" });
      const row = history.getByRole("row").filter({ hasText: `install ${PROBE} 1.1.0` });
      await row.getByRole("button", { name: /Roll back to/ }).click();
      await page.getByText("Rollback: done").waitFor();
      const registry = await rig.api("GET", "/admin/plugins");
      assert.equal(registry.items.find((p: { name: string }) => p.name === PROBE).version, "1.1.0");
      await page.goto(`${rig.service.url}/ui/plugins`);
      await page.getByRole("button", { name: "Reload from the lockfile" }).click();
      await page.getByText("Reload: done").waitFor({ timeout: 30_000 }).catch(async (error) => {
        throw new Error(`no reload result; the page shows: ${await page.locator("main").innerText()}`, {
          cause: error,
        });
      });
      assert.match(await page.locator("#op-result").innerText(), /The registry now holds 5 package\(s\)/);
    });
  },
  {
    env: { IMBI_CATALOG: `${ROOT}tests/fixtures/admin/catalog.json` },
    manifestPackages: ["incompatible"],
  },
);
