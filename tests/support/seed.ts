/**
 * Builds the walk-through graph through the HTTP API: an org, a project type,
 * a project, a demo service with one application, a configuration and a logs
 * Plugin node, and project-type bindings for both tabs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeSecret } from "./secret_scan.ts";
import type { TestApp } from "./test_app.ts";

/** What {@linkcode seedWalkthrough} created. */
export interface Seeded {
  org: string;
  projectType: string;
  projectId: string;
  projectSlug: string;
  service: string;
  configPluginId: string;
  logsPluginId: string;
  secret: string;
}

/**
 * Creates the walk-through graph, asserting each step succeeds.
 *
 * @param app The running test app.
 * @param options Org slug and demo-config options.
 * @returns The ids and slugs.
 */
export async function seedWalkthrough(
  app: TestApp,
  options: { org?: string; configOptions?: Record<string, unknown>; logsOptions?: Record<string, unknown> } = {},
): Promise<Seeded> {
  const org = options.org ?? "acme";
  const ok = async (method: string, path: string, body: unknown, status = 201) => {
    const response = await app.request(method, path, { body });
    assert.equal(response.status, status, `${method} ${path}: ${response.text}`);
    return response.body;
  };
  await ok("POST", "/orgs", { slug: org, name: "Acme" });
  await ok("POST", `/orgs/${org}/project-types`, { slug: "http-api", name: "HTTP API" });
  const project = await ok("POST", `/orgs/${org}/projects`, { slug: "web", name: "Web", project_types: ["http-api"] });
  await ok("POST", `/orgs/${org}/third-party-services`, { slug: "demo", name: "Demo", vendor: "Imbi" });
  const secret = makeSecret("demo-token");
  await ok("POST", `/orgs/${org}/third-party-services/demo/applications`, {
    slug: "default",
    name: "Default",
    credentials: { token: secret },
  });
  const config = await ok("POST", `/orgs/${org}/third-party-services/demo/plugins`, {
    slug: "config",
    plugin: "demo-config",
    label: "Demo configuration",
    options: options.configOptions ?? { seed: { GREETING: "hello" } },
  });
  const logs = await ok("POST", `/orgs/${org}/third-party-services/demo/plugins`, {
    slug: "logs",
    plugin: "demo-logs",
    label: "Demo logs",
    options: options.logsOptions ?? {},
  });
  await ok("PUT", `/orgs/${org}/project-types/http-api/plugins`, {
    bindings: [
      { plugin_id: config.id, tab: "configuration", default: true, search_template: "/{org.slug}/{project.slug}" },
      { plugin_id: logs.id, tab: "logs", default: true, search_template: "{project.slug}" },
    ],
  }, 200);
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
