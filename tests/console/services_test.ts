/**
 * Flow 4: a third-party service, a Plugin node whose options form comes from
 * its manifest's JSON Schema (API validation errors next to the field the
 * pointer names), and an application whose credential fields are the ones
 * the node's entry point declares (secret as password, multiline as text
 * area, never prefilled, shown as set or not set).
 */
import assert from "node:assert/strict";
import { assertAccessible, consoleTest, landsOn, screenshot } from "../support/console.ts";

consoleTest(
  "console services: options form from the manifest schema, credential fields from entry points",
  async (rig, t) => {
    await rig.api("POST", "/orgs", { slug: "acme", name: "Acme" });
    const page = await rig.signedIn();
    const openapi = await (await fetch(`${rig.service.url}/openapi.json`)).json();
    const offersTest = Object.hasOwn(openapi.paths, "/orgs/{org}/third-party-services/{svc}/plugins/{plugin}/test");

    await t.step("a service is added from the Services page", async () => {
      await page.getByRole("link", { name: "Services", exact: true }).click();
      await page.getByLabel("Slug").fill("forms");
      await page.getByLabel("Name").fill("Forms backend");
      await page.getByLabel("Region").fill("Not A Region");
      await page.getByRole("button", { name: "Add service" }).click();
      assert.match(await page.locator("#f_2fregion-error").innerText(), /must match pattern/);
      await page.getByLabel("Region").fill("eu-west-1");
      await page.getByRole("button", { name: "Add service" }).click();
      await page.waitForURL(/\/ui\/orgs\/acme\/services\/forms\?notice=created$/);
    });

    await t.step("an application takes the credential fields the entry point declares", async () => {
      await page.getByLabel("Show the credential fields of entry point").selectOption("console-forms");
      await page.getByRole("button", { name: "Show fields" }).click();
      const add = page.locator("form", { has: page.getByRole("button", { name: "Add application" }) });
      assert.equal(await add.getByLabel("API token").getAttribute("type"), "password");
      assert.equal(await add.getByLabel("Client certificate (PEM)").evaluate((e) => e.tagName), "TEXTAREA");
      assert.equal(await add.getByLabel("Account id").getAttribute("type"), "text");
      await add.getByLabel("Application slug").fill("default");
      await add.getByLabel("Application name").fill("Default");
      await add.getByLabel("API token").fill("console-token-secret");
      await add.getByLabel("Client certificate (PEM)").fill(
        "-----BEGIN CERTIFICATE-----\nconsole-cert-secret\n-----END",
      );
      await add.getByRole("button", { name: "Add application" }).click();
      await landsOn(page, /\/services\/forms\?for=console-forms&notice=created$/);
      const card = page.locator(".card", { has: page.getByRole("heading", { name: /Default/ }) });
      assert.match(await card.innerText(), /API token: set/);
      assert.match(await card.innerText(), /Client certificate \(PEM\): set/);
      assert.match(await card.innerText(), /Account id: not set/);
      assert.equal(await card.getByLabel("API token").inputValue(), "", "never prefilled");
      assert.ok(!(await page.content()).includes("console-token-secret"));
      assert.ok(!(await page.content()).includes("console-cert-secret"));
    });

    await t.step("the new-node form has one generated field per option, with defaults and help text", async () => {
      await page.getByLabel("Add a Plugin node of entry point").selectOption("console-forms");
      await page.getByRole("button", { name: "Next: options" }).click();
      await page.getByLabel("endpoint (required)").waitFor();
      assert.equal(await page.getByLabel("mode").inputValue(), '"safe"');
      assert.deepEqual(await page.getByLabel("mode").locator("option").allInnerTexts(), ["(not set)", "fast", "safe"]);
      assert.equal(await page.getByLabel("retries").inputValue(), "2");
      assert.equal(await page.getByLabel("retries").getAttribute("type"), "number");
      assert.equal(await page.getByLabel("ratio").inputValue(), "0.5");
      assert.equal(await page.getByLabel("verbose").isChecked(), false);
      assert.equal(await page.getByLabel("tags").inputValue(), "imbi");
      const tls = page.getByRole("group", { name: "tls" });
      assert.equal(await tls.getByLabel("verify").isChecked(), true);
      assert.equal(await tls.getByLabel("ca name").inputValue(), "system");
      assert.equal(await page.getByLabel("api key").getAttribute("type"), "password");
      assert.match(await page.getByText("Base URL of the backend").innerText(), /Base URL/);
      await assertAccessible(page, "new Plugin node form");
    });

    await t.step("the API's validation error appears next to the field its pointer names", async () => {
      await page.getByLabel("Slug").fill("forms");
      await page.getByLabel("Label").fill("Forms");
      await page.getByLabel("endpoint (required)").fill("ftp://nope");
      await page.getByLabel("retries").fill("9");
      await page.getByRole("button", { name: "Create Plugin node" }).click();
      const endpoint = page.getByLabel("endpoint (required)");
      assert.equal(await endpoint.getAttribute("aria-invalid"), "true");
      const described = (await endpoint.getAttribute("aria-describedby"))!.split(" ");
      const errorText = await page.locator(`#${described.at(-1)}`).innerText();
      assert.match(errorText, /must match pattern/);
      assert.equal(await page.getByLabel("retries").getAttribute("aria-invalid"), "true");
      assert.equal(await page.getByLabel("endpoint (required)").inputValue(), "ftp://nope", "what was typed stays");
      await screenshot(page, "plugin-node-errors");
      await endpoint.fill("https://forms.example.com");
      await page.getByLabel("retries").fill("3");
      await page.getByLabel("mode").selectOption('"fast"');
      await page.getByLabel("tags").fill("imbi\nconsole");
      await page.getByLabel("api key").fill("console-api-key-secret");
      await page.getByRole("button", { name: "Create Plugin node" }).click();
      await landsOn(page, /\/plugins\/forms\?notice=created$/);
    });

    await t.step("the node page keeps the options and shows the secret option as set, never its value", async () => {
      const node = await rig.api("GET", "/orgs/acme/third-party-services/forms/plugins/forms");
      assert.deepEqual(node.options.tags, ["imbi", "console"]);
      assert.equal(node.options.mode, "fast");
      assert.equal(node.options.retries, 3);
      assert.deepEqual(node.options.api_key, { set: true });
      assert.equal(await page.getByLabel("api key").inputValue(), "");
      assert.equal(await page.getByLabel("api key").getAttribute("placeholder"), "set");
      assert.ok(!(await page.content()).includes("console-api-key-secret"));
      assert.equal(await page.getByRole("button", { name: "Test connection" }).count(), offersTest ? 1 : 0);
      if (offersTest) {
        await page.getByRole("button", { name: "Test connection" }).click();
        await page.locator("#test-result").getByText(/Connection works/).waitFor();
      }
      await assertAccessible(page, "Plugin node page");
      await screenshot(page, "plugin-node");
      await page.getByRole("link", { name: "Back to service forms" }).click();
      assert.match(
        await page.getByRole("table").last().innerText(),
        /Forms\s+forms\s+console-forms\s+configuration\s+default\s+loaded/,
      );
      await assertAccessible(page, "service page");
      await screenshot(page, "service");
    });
  },
);
