/**
 * Third-party services, their applications and their Plugin nodes in the
 * Neo4j store. Each function runs inside a transaction the store opened.
 * Private to `core/graph/neo4j/`.
 *
 * @module
 */

import {
  alreadyExists,
  assertApplicationUnused,
  assertPluginUnbound,
  assertServiceEmpty,
  type BindingUser,
  idTaken,
} from "../messages.ts";
import { type ApplicationRow, type PluginRow, toApplication, toPluginNode } from "../rows.ts";
import {
  checkPluginType,
  newApplication,
  newPluginNode,
  patchApplication,
  patchPluginNode,
  patchService,
  toService,
} from "../rules.ts";
import type {
  Page,
  PluginNode,
  PluginNodeInput,
  PluginNodePatch,
  PluginNodeRef,
  ServiceApplication,
  ThirdPartyService,
} from "../store.ts";
import { one, run, type Tx } from "./_db.ts";
import * as find from "./_lookups.ts";
import { skipLimit } from "./_orgs.ts";
import { Q } from "./queries.ts";

/** Services of an org, by slug. */
export async function listServices(tx: Tx, org: string, page: Page | undefined): Promise<ThirdPartyService[]> {
  await find.org(tx, org);
  return (await run(tx, Q.listServices, { org, ...skipLimit(page) })).records.map((r) => toService(r.get("service")));
}

/** Creates a service; 409 for a slug taken in the org. */
export async function createService(tx: Tx, org: string, svc: ThirdPartyService): Promise<ThirdPartyService> {
  const value = toService(svc);
  await find.org(tx, org);
  if (await find.findService(tx, { org, slug: value.slug })) throw alreadyExists("service", { org, slug: value.slug });
  await run(tx, Q.createService, { org, ...value });
  return value;
}

/** Patches a service; `null` clears an optional field. */
export async function updateService(
  tx: Tx,
  ref: { org: string; slug: string },
  patch: Partial<Omit<ThirdPartyService, "slug">>,
): Promise<ThirdPartyService> {
  const next = patchService(await find.service(tx, ref), patch);
  return toService((await one(tx, Q.updateService, { org: ref.org, ...next }))!.get("service"));
}

/** Deletes a service without applications and Plugin nodes, holding its lock. */
export async function deleteService(tx: Tx, ref: { org: string; slug: string }): Promise<void> {
  await find.service(tx, ref, { lock: true });
  const row = (await one(tx, Q.serviceHoldings, ref))!;
  assertServiceEmpty(ref.slug, { applications: row.get("applications"), plugins: row.get("plugins") });
  await run(tx, Q.deleteService, ref);
}

/** Applications of a service, by slug. */
export async function listApplications(tx: Tx, ref: { org: string; service: string }): Promise<ServiceApplication[]> {
  await find.service(tx, { org: ref.org, slug: ref.service });
  return (await run(tx, Q.listApplications, ref)).records.map((r) => toApplication(r.toObject() as ApplicationRow));
}

/** Creates an application; 409 for a slug taken in the service. */
export async function createApplication(
  tx: Tx,
  ref: { org: string; service: string },
  app: ServiceApplication,
): Promise<ServiceApplication> {
  const value = newApplication(app);
  await find.service(tx, { org: ref.org, slug: ref.service });
  if (await find.findApplication(tx, { ...ref, slug: value.slug })) {
    throw alreadyExists("application", { service: ref.service, slug: value.slug });
  }
  await run(tx, Q.createApplication, { ...ref, ...value, credentials: JSON.stringify(value.credentials) });
  return value;
}

/** Patches name and credentials; `credentials` replaces the whole map. */
export async function updateApplication(
  tx: Tx,
  ref: find.InService,
  patch: Partial<Omit<ServiceApplication, "slug">>,
): Promise<ServiceApplication> {
  const next = patchApplication(await find.application(tx, ref), patch);
  await run(tx, Q.updateApplication, { ...ref, name: next.name, credentials: JSON.stringify(next.credentials) });
  return next;
}

/** Deletes an application no Plugin node uses, holding its lock. */
export async function deleteApplication(tx: Tx, ref: find.InService): Promise<void> {
  await find.application(tx, ref, { lock: true });
  assertApplicationUnused(ref.slug, (await run(tx, Q.applicationUsers, { ...ref })).records.map((r) => r.get("slug")));
  await run(tx, Q.deleteApplication, { ...ref });
}

/** Plugin nodes of a service, by slug. */
export async function listPlugins(tx: Tx, ref: { org: string; service: string }): Promise<PluginNode[]> {
  await find.service(tx, { org: ref.org, slug: ref.service });
  return (await run(tx, Q.listPlugins, ref)).records.map((r) => toPluginNode(r.get("plugin") as PluginRow));
}

/** Creates a Plugin node; without an application it uses the service's only one. */
export async function createPlugin(
  tx: Tx,
  ref: { org: string; service: string },
  input: PluginNodeInput,
): Promise<PluginNode> {
  const { org, service } = ref;
  checkPluginType(input);
  await find.service(tx, { org, slug: service });
  if (input.id !== undefined && await one(tx, Q.pluginIdTaken, { id: input.id })) throw idTaken("plugin", input.id);
  if (await one(tx, Q.pluginSlugTaken, { org, service, slug: input.slug })) {
    throw alreadyExists("plugin", { service, slug: input.slug });
  }
  let application: string | null = null;
  if (input.application !== null && input.application !== undefined) {
    application = (await find.application(tx, { org, service, slug: input.application })).slug;
  } else {
    // USES_APPLICATION defaults to the service's only application.
    const apps = (await run(tx, Q.onlyApplication, { org, service })).records;
    if (apps.length === 1) application = apps[0]!.get("slug");
  }
  const node = newPluginNode(input, { service, application });
  await run(tx, Q.createPlugin, { ...node, org, options: JSON.stringify(node.options) });
  return node;
}

/** Patches slug, application (`null` unlinks), label, options and enabled, holding the node's lock. */
export async function updatePlugin(tx: Tx, ref: find.InService, patch: PluginNodePatch): Promise<PluginNode> {
  const { org, service } = ref;
  const current = await find.plugin(tx, ref, { lock: true });
  const next = patchPluginNode(current, patch);
  if (next.slug !== current.slug && await one(tx, Q.pluginSlugTaken, { org, service, slug: next.slug })) {
    throw alreadyExists("plugin", { service, slug: next.slug });
  }
  if (patch.application === null) next.application = null;
  else if (patch.application !== undefined) {
    next.application = (await find.application(tx, { org, service, slug: patch.application })).slug;
  }
  const row = await one(tx, Q.updatePlugin, { ...next, options: JSON.stringify(next.options) });
  return toPluginNode(row!.get("plugin"));
}

/** Deletes a Plugin node no binding points at, holding its lock. */
export async function deletePlugin(tx: Tx, ref: find.InService): Promise<void> {
  const node = await find.plugin(tx, ref, { lock: true });
  const users = (await run(tx, Q.pluginUsers, { id: node.id })).records.map((r) => r.toObject() as BindingUser);
  assertPluginUnbound({ org: ref.org, service: ref.service, slug: node.slug }, users);
  await run(tx, Q.deletePlugin, { id: node.id });
}

/** Plugin nodes in every org whose manifest slug is listed, by org, service and slug. */
export async function findPluginNodes(tx: Tx, manifestSlugs: string[]): Promise<PluginNodeRef[]> {
  return (await run(tx, Q.findPluginNodes, { plugins: manifestSlugs })).records.map((r) =>
    r.toObject() as PluginNodeRef
  );
}
