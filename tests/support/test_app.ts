/**
 * Starts the real service in-process for end-to-end tests: a temp data
 * directory, an embedded SQLite store (or the test Neo4j), a lockfile of
 * local plugin packages, the real sandbox, and `app.request()` helpers that
 * scan every response for secrets.
 *
 * @module
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { hashTree } from "../../core/packages/integrity.ts";
import { type LockEntry, updateLockfile } from "../../core/packages/lockfile.ts";
import type { GraphStore } from "../../core/graph/store.ts";
import { buildServices, type Services } from "../../core/wiring.ts";
import { createApp } from "../../routes/app.ts";
import neo4j from "neo4j-driver";
import { Neo4jStore } from "../../core/graph/neo4j/store.ts";
import { countResponse, installLogScanner, scanForSecrets } from "./secret_scan.ts";
import { serviceUrl } from "./services.ts";

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** A local plugin package to lock: its directory and its entry-point slugs. */
export interface LocalPackage {
  name: string;
  dir: string;
  version?: string;
  entryPoints: string[];
}

/** The first-party demo packages. */
export const DEMO_PACKAGES: LocalPackage[] = [
  { name: "@imbi/plugin-demo-config", dir: `${ROOT}plugins/demo-config`, entryPoints: ["demo-config"] },
  { name: "@imbi/plugin-demo-logs", dir: `${ROOT}plugins/demo-logs`, entryPoints: ["demo-logs"] },
];

/**
 * Writes lock entries for local packages (absolute paths), as `plugins add` would.
 *
 * @param lockfilePath The lockfile.
 * @param packages The packages.
 */
export async function lockLocalPackages(lockfilePath: string, packages: LocalPackage[]): Promise<void> {
  const entries: Record<string, LockEntry> = {};
  for (const pkg of packages) {
    entries[pkg.name] = {
      specifier: pkg.dir,
      version: pkg.version ?? "1.0.0",
      integrity: await hashTree(pkg.dir),
      entry_points: pkg.entryPoints,
      source: { kind: "manual" },
      added_at: new Date().toISOString(),
      added_by: "tests",
    };
  }
  await updateLockfile(lockfilePath, (current) => ({ ...current, packages: { ...current.packages, ...entries } }));
}

/** A parsed response. */
export interface TestResponse {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
  text: string;
}

/** Options of a test request. */
export interface RequestOptions {
  /** JSON-encoded unless a string. */
  body?: unknown;
  /** The bearer token: the admin token unless given, `null` for none. */
  token?: string | null;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** A running service for one test. */
export interface TestApp {
  /** The services behind the app. */
  services: Services;
  /** The Hono app itself (its `routes` list every registered handler). */
  hono: ReturnType<typeof createApp>;
  /** The admin token. */
  adminToken: string;
  /** The one read-only token. */
  readToken: string;
  /** The temporary data directory. */
  dataDir: string;
  /** The lockfile in it. */
  lockfilePath: string;
  /** Calls the app with the admin token unless `token` is given (`null` for none). */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  /**
   * Calls the app and asserts the answer is `status` (by default 201 for a
   * POST, 200 otherwise).
   *
   * @returns The parsed body.
   */
  // deno-lint-ignore no-explicit-any
  ok(method: string, path: string, options?: RequestOptions & { status?: number }): Promise<any>;
  /** Stops the service and removes its data directory. */
  close(): Promise<void>;
  /** {@linkcode TestApp.close}, for `await using app = await startTestApp()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The part of {@linkcode TestApp} that calls it: what the seed helpers use. */
export type HttpClient = Pick<TestApp, "request" | "ok">;

/**
 * A test client over any transport (`app.request()` in-process, `fetch`
 * to a service): the admin token unless `token` is given (`null` for none),
 * JSON bodies, every response's body and headers scanned for secrets.
 *
 * @param send Sends one request: a path and its init.
 * @param adminToken The admin token.
 * @returns `request` and `ok`.
 */
export function testClient(
  send: (path: string, init: RequestInit) => Response | Promise<Response>,
  adminToken: string,
): HttpClient {
  const request: TestApp["request"] = async (method, path, { body, token, headers = {} } = {}) => {
    const sent: Record<string, string> = { ...headers };
    if (token !== null) sent.authorization = `Bearer ${token ?? adminToken}`;
    const init: RequestInit = { method, headers: sent };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      sent["content-type"] ??= "application/json";
    }
    const response = await send(path, init);
    const text = await response.text();
    countResponse();
    scanForSecrets(text, `the response to ${method} ${path}`);
    for (const [name, value] of response.headers) {
      scanForSecrets(`${name}: ${value}`, `a header of ${method} ${path}`);
    }
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  return {
    request,
    async ok(method, path, { status = method === "POST" ? 201 : 200, ...options } = {}) {
      const response = await request(method, path, options);
      assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
      return response.body;
    },
  };
}

/**
 * The test Neo4j of the end-to-end run, emptied, when
 * `IMBI_TEST_E2E_STORE=neo4j` (the test command's second pass, which runs
 * the HTTP and console files one at a time, so emptying the graph first is
 * safe); otherwise undefined (the service uses its embedded SQLite store).
 *
 * @returns The Neo4j's URL and credentials, or undefined.
 */
export async function e2eNeo4j(): Promise<{ url: string; user: string; password: string } | undefined> {
  if (Deno.env.get("IMBI_TEST_E2E_STORE") !== "neo4j") return undefined;
  const url = serviceUrl("IMBI_TEST_NEO4J_URL");
  if (!url) throw new Error("IMBI_TEST_E2E_STORE=neo4j needs the test Neo4j (IMBI_TEST_NEO4J_URL)");
  const user = Deno.env.get("IMBI_TEST_NEO4J_USER") ?? "neo4j";
  const password = Deno.env.get("IMBI_TEST_NEO4J_PASSWORD") ?? "";
  const driver = neo4j.driver(url, neo4j.auth.basic(user, password));
  try {
    await driver.executeQuery("MATCH (n) DETACH DELETE n");
  } finally {
    await driver.close();
  }
  return { url, user, password };
}

/** The store of the end-to-end run: the emptied test Neo4j on the second pass, else undefined (SQLite). */
async function e2eStore(): Promise<GraphStore | undefined> {
  const neo = await e2eNeo4j();
  return neo === undefined ? undefined : await Neo4jStore.connect(neo);
}

/** The service in-process over a data directory the caller keeps: see {@linkcode openTestApp}. */
export interface OpenedApp extends HttpClient, AsyncDisposable {
  /** The services behind the app. */
  services: Services;
  /** The Hono app itself. */
  hono: ReturnType<typeof createApp>;
  /** Closes the services; the data directory stays. */
  close(): Promise<void>;
}

/**
 * Opens the service in-process over an existing data directory (its
 * lockfile `plugins.lock.json` in it), for tests that stop and start it on
 * the same data, e.g. with other encryption keys.
 *
 * @param dataDir The data directory.
 * @param options The admin token; `env` added to the configuration; a store to use (default: the embedded one in
 *   `dataDir`); the clock.
 * @returns The app with the test client; closing it leaves the data directory.
 */
export async function openTestApp(
  dataDir: string,
  options: { adminToken: string; env?: Record<string, string>; store?: GraphStore; clock?: () => Date },
): Promise<OpenedApp> {
  const config = loadConfig({
    IMBI_DATA_DIR: dataDir,
    IMBI_LOCKFILE: `${dataDir}/plugins.lock.json`,
    IMBI_ADMIN_TOKEN: options.adminToken,
    ...options.env,
  });
  const services = await buildServices(config, options.store ? { store: options.store } : {});
  const hono = createApp({
    ...services,
    version: "test",
    clock: options.clock ?? (() => new Date()),
    maxBodyBytes: config.maxBodyBytes,
  });
  const close = () => services.close();
  return {
    services,
    hono,
    ...testClient((path, init) => hono.request(path, init), options.adminToken),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Starts the service in-process.
 *
 * @param options Packages to lock, extra environment, a store to use, the clock.
 * @returns The running app.
 */
export async function startTestApp(
  options: {
    packages?: LocalPackage[];
    env?: Record<string, string>;
    store?: GraphStore;
    clock?: () => Date;
  } = {},
): Promise<TestApp> {
  installLogScanner();
  const dataDir = await Deno.makeTempDir({ prefix: "imbi-e2e-" });
  const lockfilePath = `${dataDir}/plugins.lock.json`;
  await lockLocalPackages(lockfilePath, options.packages ?? DEMO_PACKAGES);
  const adminToken = `admin-${crypto.randomUUID()}`;
  const readToken = `read-${crypto.randomUUID()}`;
  const store = options.store ?? await e2eStore();
  const app = await openTestApp(dataDir, {
    adminToken,
    env: { IMBI_READ_TOKENS: readToken, IMBI_MIN_PACKAGE_AGE: "0", IMBI_PLUGIN_TIMEOUT: "5s", ...options.env },
    ...(store ? { store } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const close = async () => {
    await app.close();
    await Deno.remove(dataDir, { recursive: true });
  };
  return { ...app, adminToken, readToken, dataDir, lockfilePath, close, [Symbol.asyncDispose]: close };
}
