/**
 * Builds graphs through the HTTP API, asserting each call succeeds: the
 * walk-through graph (an org, a project type, a project, a demo service with
 * one application, a configuration and a logs Plugin node, project-type
 * bindings for both tabs), and smaller ones the tests share.
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeSecret } from "./secret_scan.ts";
import type { TestApp, TestResponse } from "./test_app.ts";

/** What {@linkcode seedWalkthrough} created. */
export interface Seeded {
  /** The organization's slug. */
  org: string;
  /** The project type's slug (`http-api`). */
  projectType: string;
  /** The project's generated id. */
  projectId: string;
  /** The project's slug (`web`). */
  projectSlug: string;
  /** The service's slug (`demo`). */
  service: string;
  /** The demo-config Plugin node's id. */
  configPluginId: string;
  /** The demo-logs Plugin node's id. */
  logsPluginId: string;
  /** The application's credential, to scan responses for. */
  secret: string;
}

/**
 * Creates an organization, project type `http-api` in it, and project `web`
 * of that type.
 *
 * @param app The running test app.
 * @param org The organization's slug.
 * @returns The project as created (with its generated id).
 */
// deno-lint-ignore no-explicit-any
export async function seedProject(app: Pick<TestApp, "ok">, org: string): Promise<any> {
  await app.ok("POST", "/orgs", { body: { slug: org, name: "Acme" } });
  await app.ok("POST", `/orgs/${org}/project-types`, { body: { slug: "http-api", name: "HTTP API" } });
  return await app.ok("POST", `/orgs/${org}/projects`, {
    body: { slug: "web", name: "Web", project_types: ["http-api"] },
  });
}

/**
 * Creates organization `acme` and a third-party service in it.
 *
 * @param app The running test app.
 * @param service The service's create body.
 */
export async function seedService(
  app: Pick<TestApp, "ok">,
  service: { slug: string; name: string; [field: string]: unknown },
): Promise<void> {
  await app.ok("POST", "/orgs", { body: { slug: "acme", name: "Acme" } });
  await app.ok("POST", "/orgs/acme/third-party-services", { body: service });
}

/**
 * Creates organization `acme` with project `web` and service `vendor`, and
 * binds one Plugin node of `plugin` (slug and label the same) as `web`'s
 * default configuration source. With `credentials`, the service gets one
 * application, `default`, that the node uses.
 *
 * @param app The running test app.
 * @param options The entry point, the application's credentials and the node's options.
 * @returns The Plugin node's id.
 */
export async function seedBoundPlugin(
  app: Pick<TestApp, "ok">,
  options: { plugin: string; credentials?: Record<string, string>; options?: Record<string, unknown> },
): Promise<string> {
  await seedService(app, { slug: "vendor", name: "Vendor" });
  await app.ok("POST", "/orgs/acme/projects", { body: { slug: "web", name: "Web" } });
  if (options.credentials) {
    await app.ok("POST", "/orgs/acme/third-party-services/vendor/applications", {
      body: { slug: "default", name: "Default", credentials: options.credentials },
    });
  }
  const node = await app.ok("POST", "/orgs/acme/third-party-services/vendor/plugins", {
    body: { slug: options.plugin, plugin: options.plugin, label: options.plugin, options: options.options ?? {} },
  });
  await app.ok("PUT", "/orgs/acme/projects/web/plugins", {
    body: { bindings: [{ plugin_id: node.id, tab: "configuration", default: true }] },
  });
  return node.id;
}

/**
 * Asserts a configuration tab answered 200, and tells what it answered.
 *
 * @param response The answer to `GET .../configuration` (or the request still in flight).
 * @returns The first key listed and the version of the package that answered.
 */
export async function configurationAnswer(
  response: TestResponse | Promise<TestResponse>,
): Promise<{ key: string; version: string }> {
  const r = await response;
  assert.equal(r.status, 200, r.text);
  return { key: r.body.items[0].key, version: r.body.source.version };
}

/**
 * Creates the walk-through graph, asserting each step succeeds.
 *
 * @param app The running test app (or anything with its `ok`, e.g. a client of a served process).
 * @param options Org slug and demo-config options.
 * @returns The ids and slugs.
 */
export async function seedWalkthrough(
  app: Pick<TestApp, "ok">,
  options: { org?: string; configOptions?: Record<string, unknown>; logsOptions?: Record<string, unknown> } = {},
): Promise<Seeded> {
  const org = options.org ?? "acme";
  const project = await seedProject(app, org);
  const services = `/orgs/${org}/third-party-services`;
  await app.ok("POST", services, { body: { slug: "demo", name: "Demo", vendor: "Imbi" } });
  const secret = makeSecret("demo-token");
  await app.ok("POST", `${services}/demo/applications`, {
    body: { slug: "default", name: "Default", credentials: { token: secret } },
  });
  const config = await app.ok("POST", `${services}/demo/plugins`, {
    body: {
      slug: "config",
      plugin: "demo-config",
      label: "Demo configuration",
      options: options.configOptions ?? { seed: { GREETING: "hello" } },
    },
  });
  const logs = await app.ok("POST", `${services}/demo/plugins`, {
    body: { slug: "logs", plugin: "demo-logs", label: "Demo logs", options: options.logsOptions ?? {} },
  });
  await app.ok("PUT", `/orgs/${org}/project-types/http-api/plugins`, {
    body: {
      bindings: [
        { plugin_id: config.id, tab: "configuration", default: true, search_template: "/{org.slug}/{project.slug}" },
        { plugin_id: logs.id, tab: "logs", default: true, search_template: "{project.slug}" },
      ],
    },
  });
  return {
    org,
    projectType: "http-api",
    projectId: project.id,
    projectSlug: "web",
    service: "demo",
    configPluginId: config.id,
    logsPluginId: logs.id,
    secret,
  };
}
