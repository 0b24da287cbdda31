/**
 * Small graphs the store tests of this folder build again and again, so each
 * test names the shape it needs instead of spelling it out.
 *
 * @module
 */

import type { GraphStore, Resolution, ThirdPartyService } from "../../core/graph/store.ts";
import type { OrgSpec } from "../support/graph_fixtures.ts";

/**
 * One org whose project `billing` (type `web`) resolves its configuration tab
 * to Plugin node `aws/ssm` (application `main`), the web type's default.
 *
 * @param slug The org's slug.
 * @returns The spec for `buildOrg()`.
 */
export function boundProjectSpec(slug: string): OrgSpec {
  return {
    slug,
    project_types: ["web"],
    services: [{
      slug: "aws",
      applications: [{ slug: "main", credentials: { key: "v1:k1:AAA" } }],
      plugins: [{ slug: "ssm", plugin: "demo-config", plugin_type: "configuration" }],
    }],
    projects: [{ slug: "billing", project_types: ["web"] }],
    project_type_bindings: { web: [{ plugin: "aws/ssm", default: true }] },
  };
}

/**
 * One org with project type `web` and configuration Plugin nodes of
 * `demo-config` in service `svc`: `svc/a` and `svc/b` unless `extra.nodes`
 * names others, plus whatever else `extra` adds.
 *
 * @param slug The org's slug.
 * @param extra More of the spec (projects, bindings), and `nodes`, the Plugin nodes' slugs.
 * @returns The spec for `buildOrg()`.
 */
export function configNodesSpec(
  slug: string,
  { nodes = ["a", "b"], ...extra }: Partial<OrgSpec> & { nodes?: string[] } = {},
): OrgSpec {
  return {
    slug,
    project_types: ["web"],
    services: [{
      slug: "svc",
      plugins: nodes.map((node) => ({ slug: node, plugin: "demo-config", plugin_type: "configuration" as const })),
    }],
    ...extra,
  };
}

/**
 * Resolves a project's configuration tab with `demo-config` loaded.
 *
 * @param store The store.
 * @param where The org and the project (id or slug).
 * @returns The resolution.
 */
export function resolveConfiguration(store: GraphStore, where: { org: string; project: string }): Promise<Resolution> {
  return store.resolveTab({ ...where, tab: "configuration", loaded: ["demo-config"] });
}

/**
 * A service with only a slug and a name (vendor, base URL, account and region null).
 *
 * @param slug The service's slug.
 * @param name Its display name.
 * @returns The service.
 */
export function bareService(slug: string, name: string): ThirdPartyService {
  return { slug, name, vendor: null, base_url: null, account: null, region: null };
}
