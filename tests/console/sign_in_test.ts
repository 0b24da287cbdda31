/**
 * Flow 1 and 2: signing in with a token, the session cookie's attributes,
 * the navigation, a read token without write controls, CSRF refusals, sign out.
 */
import assert from "node:assert/strict";
import { assertAccessible, consoleTest, screenshot } from "../support/console.ts";

consoleTest("console sign-in: session cookie, navigation, read-only view, CSRF, sign out", async (rig, t) => {
  await t.step("a wrong token is refused in place", async () => {
    const page = await (await rig.browser.newContext()).newPage();
    await page.goto(`${rig.service.url}/ui/`);
    await assertAccessible(page, "sign-in page");
    await screenshot(page, "sign-in");
    await page.getByLabel("Token").fill("not-a-token-at-all");
    await page.getByRole("button", { name: "Sign in" }).click();
    assert.match(await page.getByRole("alert").innerText(), /token is not valid/);
    await page.context().close();
  });

  await t.step(
    "the admin token gets an HttpOnly, SameSite=Strict session cookie and every navigation link",
    async () => {
      const page = await rig.signedIn();
      const [cookie] = await page.context().cookies();
      assert.equal(cookie?.name, "imbi_session");
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, "Strict");
      assert.equal(cookie?.secure, false, "plain HTTP on loopback: not Secure");
      assert.ok(cookie!.expires > Date.now() / 1000 + 7 * 3600, "expires in about 8 hours");
      assert.ok(!cookie!.value.includes(rig.adminToken), "the token is sealed, not stored in clear");
      const nav = page.getByRole("navigation", { name: "Main" });
      for (const name of ["Plugins", "Services", "Projects", "Audit", "API documentation"]) {
        assert.equal(await nav.getByRole("link", { name, exact: true }).count(), 1, name);
      }
      await rig.api("POST", "/orgs", { slug: "acme", name: "Acme" });
      await nav.getByRole("link", { name: "Audit" }).click();
      await page.waitForURL(/\/ui\/audit$/);
      assert.match(await page.getByRole("table").innerText(), /admin-api:admin\s+\S*org\S*\s+\S*\s*acme/);
      await assertAccessible(page, "audit page");
      await screenshot(page, "audit");
      await page.context().close();
    },
  );

  await t.step("a read token sees the same pages without any write control", async () => {
    const page = await rig.signedIn({ read: true });
    assert.match(await page.locator("header").innerText(), /Read-only/);
    assert.equal(await page.getByRole("button", { name: /Reload|Remove|Install|Upgrade/ }).count(), 0);
    assert.equal(await page.locator("main form").count(), 0, "no form on the Plugins page");
    await page.goto(`${rig.service.url}/ui/services`);
    assert.equal(await page.locator("main form").count(), 0, "no form on the Services page");
    await page.context().close();
  });

  await t.step("a cross-site form post and a post without the CSRF token are refused", async () => {
    const page = await rig.signedIn();
    const cookies = await page.context().cookies();
    const cookie = `imbi_session=${cookies[0]!.value}`;
    const crossSite = await fetch(`${rig.service.url}/ui/plugins/reload`, {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "application/x-www-form-urlencoded" },
      body: "_csrf=whatever",
    });
    assert.equal(crossSite.status, 403);
    await crossSite.body?.cancel();
    const noToken = await fetch(`${rig.service.url}/ui/plugins/reload`, {
      method: "POST",
      headers: { cookie, origin: rig.service.url, "content-type": "application/x-www-form-urlencoded" },
      body: "",
    });
    assert.equal(noToken.status, 403);
    await noToken.body?.cancel();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/ui\/\?signed_out/);
    assert.equal((await page.context().cookies()).length, 0, "the cookie is gone");
    await page.goto(`${rig.service.url}/ui/plugins`);
    await page.getByLabel("Token").waitFor();
    await page.context().close();
  });
});
