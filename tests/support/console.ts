/**
 * Console tests in a real browser: the service started with `deno task
 * serve`'s own flags on a fresh data directory (demo plugins locked, plugin
 * packages from the loopback Verdaccio), Debian's Chromium driven by
 * `playwright-core`, an axe-core check per page, and screenshots for
 * `docs/console/`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import { serviceUrl } from "./services.ts";
import { httpClient, serve, type ServeProcess } from "./serve_process.ts";
import { DEMO_PACKAGES, e2eNeo4j, type LocalPackage, lockLocalPackages, ROOT } from "./test_app.ts";
import { Keyring } from "../../core/crypto.ts";
import { type ManifestPackage, writeManifestPackage } from "./manifest_packages.ts";

/** The Chromium binary, or undefined when the test service is absent (the tests are then ignored). */
export const CHROMIUM: string | undefined = serviceUrl("IMBI_TEST_CHROMIUM");
/** The loopback npm registry. */
export const NPM: string | undefined = serviceUrl("IMBI_TEST_NPM_REGISTRY");

/** The fixture whose manifest has options of every kind and credential fields of each kind. */
export const CONSOLE_FORMS = {
  name: "@imbi-test/console-forms",
  dir: `${ROOT}tests/fixtures/console-forms`,
  entryPoints: ["console-forms"],
};

/** What a console test adds to the service: environment, more locked local packages. */
export interface ConsoleOptions {
  /** Extra environment of the service. */
  env?: Record<string, string>;
  /** More local packages to lock besides the demo ones and the forms fixture. */
  packages?: LocalPackage[];
  /** Manifest-only packages (`manifest_packages.ts`) to write into the test's directory and lock too. */
  manifestPackages?: ManifestPackage[];
}

/** On the test command's second pass, the service's settings for the emptied test Neo4j (it needs its keys given). */
async function neo4jEnv(): Promise<Record<string, string>> {
  const neo = await e2eNeo4j();
  if (neo === undefined) return {};
  return {
    IMBI_GRAPH_URL: neo.url,
    IMBI_GRAPH_USER: neo.user,
    IMBI_GRAPH_PASSWORD: neo.password,
    IMBI_ENCRYPTION_KEYS: Keyring.generate("k1"),
  };
}

/** A running service with a browser pointed at it. */
export interface ConsoleRig {
  /** The running service. */
  service: ServeProcess;
  /** The Chromium instance. */
  browser: Browser;
  /** The admin token. */
  adminToken: string;
  /** The read-only token. */
  readToken: string;
  /** The temporary data directory. */
  dataDir: string;
  /** Calls the API with the admin token; asserts 201 for a POST, 200 otherwise. */
  // deno-lint-ignore no-explicit-any
  api(method: string, path: string, body?: unknown): Promise<any>;
  /** A new page signed in with the admin token (or the read token). */
  signedIn(options?: { read?: boolean }): Promise<Page>;
}

const axeSource = Deno.readTextFile(new URL("./axe.min.js", import.meta.resolve("axe-core/package.json")));

/**
 * Runs axe-core on the page and fails on any serious or critical violation.
 *
 * @param page The page, loaded.
 * @param what Which page, for the message.
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const result = await (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ["violations"] });
    // deno-lint-ignore no-explicit-any
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      // deno-lint-ignore no-explicit-any
      nodes: v.nodes.slice(0, 8).map((n: any) => n.target.join(" ")),
    }));
  });
  const bad = violations.filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `${what}: accessibility violations ${JSON.stringify(bad, null, 2)}`);
}

/** Where screenshots go: `docs/console/` with `IMBI_UPDATE_SCREENSHOTS=1`, else a temporary folder (a test run leaves the tree clean). */
const SCREENSHOTS = Deno.env.get("IMBI_UPDATE_SCREENSHOTS") === "1"
  ? `${ROOT}docs/console`
  : Deno.makeTempDirSync({ prefix: "imbi-screenshots-" });

/**
 * Takes a full-page screenshot (it fails when the page cannot render) and keeps it as `<name>.png`: in `docs/console/`
 * when `IMBI_UPDATE_SCREENSHOTS=1`, otherwise in a temporary folder, so that running the tests does not rewrite the
 * documentation's images.
 *
 * @param page The page.
 * @param name The file's base name.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const bytes = await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
  assert.ok(bytes.length > 0, `${name}: an empty screenshot`);
}

/**
 * Starts the service and Chromium, runs `fn`, and stops both.
 *
 * @param fn The test body.
 * @param options Extra service environment and packages.
 */
export async function withConsole(
  fn: (rig: ConsoleRig) => Promise<void>,
  options: ConsoleOptions = {},
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-console-" });
  const lockfile = `${dataDir}/plugins.lock.json`;
  const written = await Promise.all(
    (options.manifestPackages ?? []).map((name) => writeManifestPackage(name, `${dataDir}/packages/${name}`)),
  );
  await lockLocalPackages(lockfile, [...DEMO_PACKAGES, CONSOLE_FORMS, ...(options.packages ?? []), ...written]);
  const adminToken = `admin-${crypto.randomUUID()}`;
  const readToken = `read-${crypto.randomUUID()}`;
  const inherited = Deno.env.toObject();
  const env: Record<string, string> = {
    PATH: inherited.PATH ?? "/usr/bin:/bin",
    HOME: inherited.HOME ?? "/root",
    ...(inherited.DENO_DIR ? { DENO_DIR: inherited.DENO_DIR } : {}),
    ...(inherited.IMBI_SERVICE_NPM_REGISTRY ? { IMBI_SERVICE_NPM_REGISTRY: inherited.IMBI_SERVICE_NPM_REGISTRY } : {}),
    IMBI_PORT: "0",
    IMBI_DATA_DIR: `${dataDir}/data`,
    IMBI_LOCKFILE: lockfile,
    IMBI_ADMIN_TOKEN: adminToken,
    IMBI_READ_TOKENS: readToken,
    IMBI_MIN_PACKAGE_AGE: "0",
    ...(NPM ? { IMBI_NPM_REGISTRY: NPM } : {}),
    ...await neo4jEnv(),
    ...options.env,
  };
  const service = await serve(env);
  const client = httpClient(service.url, adminToken);
  for (let i = 0; i < 300; i++) {
    const ready = await fetch(`${service.url}/readyz`).catch(() => undefined);
    await ready?.body?.cancel();
    if (ready?.ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
  const rig: ConsoleRig = {
    service,
    browser,
    adminToken,
    readToken,
    dataDir,
    async api(method, path, body) {
      return await client.ok(method, path, body === undefined ? {} : { body });
    },
    async signedIn({ read = false } = {}) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      context.setDefaultTimeout(20_000);
      const page = await context.newPage();
      await page.goto(`${service.url}/ui/`);
      await page.getByLabel("Token").fill(read ? readToken : adminToken);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/ui\/plugins$/);
      return page;
    },
  };
  try {
    await fn(rig);
  } finally {
    await browser.close();
    await service.stop();
    await Deno.remove(dataDir, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

/**
 * Declares a console test. Sanitizers are off here, and only here: the
 * browser driver keeps its pipes and timers open across steps by design.
 *
 * @param name The test name.
 * @param fn The test body, given the running console.
 * @param options Extra environment and packages of the service.
 */
export function consoleTest(
  name: string,
  fn: (rig: ConsoleRig, t: Deno.TestContext) => Promise<void>,
  options: ConsoleOptions = {},
): void {
  Deno.test({
    name,
    ignore: !CHROMIUM,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => withConsole((rig) => fn(rig, t), options),
  });
}

/**
 * Waits for the page to land on a URL; on failure the message carries the
 * alert the page shows instead (the API's problem, rendered in place).
 *
 * @param page The page, after a click that navigates.
 * @param url What the URL must match.
 */
export async function landsOn(page: Page, url: RegExp): Promise<void> {
  try {
    await page.waitForURL(url, { timeout: 20_000 });
  } catch (error) {
    const alerts = await page.getByRole("alert").allInnerTexts().catch(() => []);
    throw new Error(`expected ${url}, at ${page.url()}; alerts: ${alerts.join(" | ") || "none"}`, { cause: error });
  }
}
