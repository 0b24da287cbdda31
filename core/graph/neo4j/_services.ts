/**
 * Third-party services, their applications and their Plugin nodes in the
 * Neo4j store. Each function runs inside a transaction the store opened.
 * Private to `core/graph/neo4j/`.
 *
 * @module
 */

import * as messages from "../messages.ts";
import { type ApplicationRow, type PluginRow, toApplication, toPluginNode } from "../rows.ts";
import * as rules from "../rules.ts";
import type * as graph from "../store.ts";
import { recordChange } from "./_changes.ts";
import { one, run, type Tx } from "./_db.ts";
import * as find from "./_lookups.ts";
import { skipLimit } from "./_orgs.ts";
import { Q } from "./queries.ts";

/** Services of an org, by slug. */
export async function listServices(
  tx: Tx,
  org: string,
  page: graph.Page | undefined,
): Promise<graph.ThirdPartyService[]> {
  await find.org(tx, org);
  return (await run(tx, Q.listServices, { org, ...skipLimit(page) })).records.map((r) =>
    rules.toService(r.get("service"))
  );
}

/** Creates a service; 409 for a slug taken in the org. */
export async function createService(
  tx: Tx,
  org: string,
  svc: graph.ThirdPartyService,
  options?: graph.CreateOptions,
): Promise<graph.ThirdPartyService> {
  const value = rules.toService(svc);
  await find.org(tx, org);
  if (await find.findService(tx, { org, slug: value.slug })) {
    throw messages.alreadyExists("service", { org, slug: value.slug });
  }
  await run(tx, Q.createService, { org, ...value });
  const ref = { org, slug: value.slug };
  await recordChange(tx, options, { kind: "service", verb: "create", ref, from: null, to: value });
  return value;
}

/** Patches a service, holding its lock; `null` clears an optional field. */
export async function updateService(
  tx: Tx,
  ref: { org: string; slug: string },
  patch: Partial<Omit<graph.ThirdPartyService, "slug">>,
  options: graph.WriteOptions = {},
): Promise<graph.ThirdPartyService> {
  const current = await find.service(tx, ref, { lock: true, ...options });
  const next = rules.toService(
    (await one(tx, Q.updateService, { org: ref.org, ...rules.patchService(current, patch) }))!.get("service"),
  );
  await recordChange(tx, options, { kind: "service", verb: "update", ref, from: current, to: next });
  return next;
}

/** Deletes a service without applications and Plugin nodes, holding its lock. */
export async function deleteService(
  tx: Tx,
  ref: { org: string; slug: string },
  options: graph.WriteOptions = {},
): Promise<void> {
  const current = await find.service(tx, ref, { lock: true, ...options });
  const row = (await one(tx, Q.serviceHoldings, ref))!;
  messages.assertServiceEmpty(ref.slug, { applications: row.get("applications"), plugins: row.get("plugins") });
  await run(tx, Q.deleteService, ref);
  await recordChange(tx, options, { kind: "service", verb: "delete", ref, from: current, to: null });
}

/** Applications of a service, by slug. */
export async function listApplications(
  tx: Tx,
  ref: { org: string; service: string },
): Promise<graph.ServiceApplication[]> {
  await find.service(tx, { org: ref.org, slug: ref.service });
  return (await run(tx, Q.listApplications, ref)).records.map((r) => toApplication(r.toObject() as ApplicationRow));
}

/** Creates an application; 409 for a slug taken in the service. */
export async function createApplication(
  tx: Tx,
  ref: { org: string; service: string },
  app: graph.ServiceApplication,
  options?: graph.CreateOptions,
): Promise<graph.ServiceApplication> {
  const value = rules.newApplication(app);
  await find.service(tx, { org: ref.org, slug: ref.service });
  if (await find.findApplication(tx, { ...ref, slug: value.slug })) {
    throw messages.alreadyExists("application", { service: ref.service, slug: value.slug });
  }
  await run(tx, Q.createApplication, { ...ref, ...value, credentials: JSON.stringify(value.credentials) });
  const where = { ...ref, slug: value.slug };
  await recordChange(tx, options, { kind: "application", verb: "create", ref: where, from: null, to: value });
  return value;
}

/**
 * Patches name and credentials, holding the application's lock from the read
 * to the write: `credentials` replaces the whole map, `credential_changes`
 * merges into it; `check` sees the result and the Plugin nodes using it.
 */
export async function updateApplication(
  tx: Tx,
  ref: find.InService,
  patch: graph.ApplicationPatch,
  options: graph.ApplicationWriteOptions = {},
): Promise<graph.ServiceApplication> {
  const current = await find.application(tx, ref, { lock: true, ...options });
  const next = rules.patchApplication(current, patch);
  if (options.check) {
    const users = (await run(tx, Q.applicationPlugins, { ...ref })).records;
    options.check(next, users.map((r) => toPluginNode(r.get("plugin") as PluginRow)));
  }
  await run(tx, Q.updateApplication, { ...ref, name: next.name, credentials: JSON.stringify(next.credentials) });
  await recordChange(tx, options, { kind: "application", verb: "update", ref, from: current, to: next });
  return next;
}

/** Deletes an application no Plugin node uses, holding its lock. */
export async function deleteApplication(tx: Tx, ref: find.InService, options: graph.WriteOptions = {}): Promise<void> {
  const current = await find.application(tx, ref, { lock: true, ...options });
  messages.assertApplicationUnused(
    ref.slug,
    (await run(tx, Q.applicationUsers, { ...ref })).records.map((r) => r.get("slug")),
  );
  await run(tx, Q.deleteApplication, { ...ref });
  await recordChange(tx, options, { kind: "application", verb: "delete", ref, from: current, to: null });
}

/** Plugin nodes of a service, by slug. */
export async function listPlugins(tx: Tx, ref: { org: string; service: string }): Promise<graph.PluginNode[]> {
  await find.service(tx, { org: ref.org, slug: ref.service });
  return (await run(tx, Q.listPlugins, ref)).records.map((r) => toPluginNode(r.get("plugin") as PluginRow));
}

/**
 * Creates a Plugin node; without an application it uses the service's only
 * one. `check` sees the node with its service and application (whose lock it
 * holds, so a concurrent credential change waits).
 */
export async function createPlugin(
  tx: Tx,
  ref: { org: string; service: string },
  input: graph.PluginNodeInput,
  options: Pick<graph.PluginWriteOptions, "check" | "audit"> = {},
): Promise<graph.PluginNode> {
  const { org, service } = ref;
  rules.checkPluginType(input);
  const svc = await find.service(tx, { org, slug: service });
  if (input.id !== undefined && await one(tx, Q.pluginIdTaken, { id: input.id })) {
    throw messages.idTaken("plugin", input.id);
  }
  if (await one(tx, Q.pluginSlugTaken, { org, service, slug: input.slug })) {
    throw messages.alreadyExists("plugin", { service, slug: input.slug });
  }
  let app: graph.ServiceApplication | null = null;
  if (input.application !== null && input.application !== undefined) {
    app = await find.application(tx, { org, service, slug: input.application }, { lock: !!options.check });
  } else {
    // USES_APPLICATION defaults to the service's only application.
    const apps = (await run(tx, Q.onlyApplication, { org, service })).records;
    if (apps.length === 1) {
      const slug = apps[0]!.get("slug") as string;
      app = options.check ? await find.application(tx, { org, service, slug }, { lock: true }) : toApplication(
        apps[0]!.toObject() as ApplicationRow,
      );
    }
  }
  const node = rules.newPluginNode(input, { service, application: app?.slug ?? null });
  options.check?.(node, { service: svc, application: app });
  await run(tx, Q.createPlugin, { ...node, org, options: JSON.stringify(node.options) });
  const where = { org, service, slug: node.slug };
  await recordChange(tx, options, { kind: "plugin", verb: "create", ref: where, from: null, to: node });
  return node;
}

/**
 * Patches slug, application (`null` unlinks), label, options and enabled,
 * holding the node's lock from the read to the write; `check` sees the
 * result with its service and application (whose lock it holds too).
 */
export async function updatePlugin(
  tx: Tx,
  ref: find.InService,
  patch: graph.PluginNodePatch,
  options: graph.PluginWriteOptions = {},
): Promise<graph.PluginNode> {
  const { org, service } = ref;
  const current = await find.plugin(tx, ref, { lock: true, ...options });
  const next = rules.patchPluginNode(current, patch);
  if (next.slug !== current.slug && await one(tx, Q.pluginSlugTaken, { org, service, slug: next.slug })) {
    throw messages.alreadyExists("plugin", { service, slug: next.slug });
  }
  if (patch.application === null) next.application = null;
  else if (patch.application !== undefined) next.application = patch.application;
  if (options.check || patch.application) {
    const app = next.application === null
      ? null
      : await find.application(tx, { org, service, slug: next.application }, { lock: !!options.check });
    options.check?.(next, { service: await find.service(tx, { org, slug: service }), application: app });
  }
  const row = await one(tx, Q.updatePlugin, { ...next, options: JSON.stringify(next.options) });
  const stored = toPluginNode(row!.get("plugin"));
  const where = { org, service, slug: current.slug };
  await recordChange(tx, options, { kind: "plugin", verb: "update", ref: where, from: current, to: stored });
  return stored;
}

/** Deletes a Plugin node no binding points at, holding its lock. */
export async function deletePlugin(tx: Tx, ref: find.InService, options: graph.WriteOptions = {}): Promise<void> {
  const node = await find.plugin(tx, ref, { lock: true, ...options });
  const users = (await run(tx, Q.pluginUsers, { id: node.id })).records.map((r) =>
    r.toObject() as messages.BindingUser
  );
  messages.assertPluginUnbound({ org: ref.org, service: ref.service, slug: node.slug }, users);
  await run(tx, Q.deletePlugin, { id: node.id });
  const where = { org: ref.org, service: ref.service, slug: node.slug };
  await recordChange(tx, options, { kind: "plugin", verb: "delete", ref: where, from: node, to: null });
}

/** Plugin nodes in every org whose manifest slug is listed, by org, service and slug. */
export async function findPluginNodes(tx: Tx, manifestSlugs: string[]): Promise<graph.PluginNodeRef[]> {
  return (await run(tx, Q.findPluginNodes, { plugins: manifestSlugs })).records.map((r) =>
    r.toObject() as graph.PluginNodeRef
  );
}
