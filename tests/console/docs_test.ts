/**
 * Flow 7 and 9: the API documentation at /docs, rendered by Swagger UI from
 * /openapi.json with every asset served by the service itself; keyboard
 * basics of the console (skip link first, sign-in without a mouse, visible
 * focus).
 */
import assert from "node:assert/strict";
import { assertAccessible, consoleTest, screenshot } from "../support/console.ts";

/** The browser globals these checks read, typed without the DOM library (which would change Deno's own types). */
interface Page {
  document: { activeElement: { textContent: string | null; id: string } | null };
  getComputedStyle(element: unknown): { outlineStyle: string };
}

consoleTest(
  "console /docs and keyboard basics: Swagger UI from local assets, keyboard-only sign-in",
  async (rig, t) => {
    await t.step("/docs renders every operation of /openapi.json from the service's own assets", async () => {
      const context = await rig.browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const foreign: string[] = [];
      page.on("request", (request) => {
        if (!request.url().startsWith(rig.service.url) && !request.url().startsWith("data:")) {
          foreign.push(request.url());
        }
      });
      await page.goto(`${rig.service.url}/docs`);
      await page.locator(".swagger-ui .info .title").waitFor({ timeout: 20_000 });
      assert.match(await page.locator(".swagger-ui .info .title").innerText(), /Imbi/);
      await page.locator(".opblock").first().waitFor();
      const openapi = await (await fetch(`${rig.service.url}/openapi.json`)).json();
      const declared = Object.values(openapi.paths).reduce(
        (n: number, ops) => n + Object.keys(ops as object).length,
        0,
      );
      assert.equal(await page.locator(".opblock").count(), declared, "one block per operation");
      assert.deepEqual(foreign, [], "nothing is fetched from anywhere but the service");
      await assertAccessible(page, "/docs");
      await screenshot(page, "docs");
      await context.close();
    });

    await t.step(
      "the console works from the keyboard: skip link first, sign in with Enter, focus visible",
      async () => {
        const context = await rig.browser.newContext();
        const page = await context.newPage();
        await page.goto(`${rig.service.url}/ui/`);
        await page.keyboard.press("Tab");
        assert.equal(
          await page.evaluate(() =>
            (globalThis as unknown as { document: { activeElement: { textContent: string } } }).document.activeElement
              .textContent
          ),
          "Skip to content",
        );
        await page.keyboard.press("Tab");
        assert.equal(
          await page.evaluate(() => (globalThis as unknown as Page).document.activeElement?.id),
          "token",
        );
        const outline = await page.locator("#token").evaluate((e) =>
          (globalThis as unknown as Page).getComputedStyle(e).outlineStyle
        );
        assert.notEqual(outline, "none", "the focused input shows a focus ring");
        await page.keyboard.type(rig.adminToken);
        await page.keyboard.press("Enter");
        await page.waitForURL(/\/ui\/plugins$/);
        await context.close();
      },
    );
  },
);
