/**
 * The write rules of the graph (spec section 6), shared by every graph store
 * and the Neo4j import planner so the rules cannot drift: the bindings of one
 * scope (each `plugin_id` and `identity_plugin_id` names a Plugin node of the
 * org, the tab equals its plugin type, no Plugin node twice, at most one
 * default per tab), the known plugin types, paging, the order of slugs, and
 * the values a create or an update writes. Messages live in
 * `core/graph/messages.ts`.
 *
 * @module
 */

import type { PluginType } from "@imbi/plugin-sdk/types";
import { type FieldError, ValidationError } from "../errors.ts";
import type {
  ApplicationPatch,
  Binding,
  Page,
  PluginNode,
  PluginNodeInput,
  PluginNodePatch,
  ServiceApplication,
  ThirdPartyService,
} from "./store.ts";

/** The plugin types a Plugin node may have (and so the tabs). */
export const PLUGIN_TYPES: ReadonlySet<string> = new Set<PluginType>(["configuration", "logs"]);

/**
 * Refuses a Plugin node of an unknown plugin type.
 *
 * @param input The node's slug and plugin type.
 * @throws {ValidationError} With the pointer `/plugin_type`.
 */
export function checkPluginType(input: { slug: string; plugin_type: string }): void {
  if (!PLUGIN_TYPES.has(input.plugin_type)) {
    throw new ValidationError(`Plugin "${input.slug}" has an unknown plugin_type`, [
      { pointer: "/plugin_type", message: `must be one of ${[...PLUGIN_TYPES].join(", ")}` },
    ]);
  }
}

/**
 * Byte order of two strings (not locale order), the order of every list.
 *
 * @param a One string.
 * @param b Another.
 * @returns Negative, zero or positive.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Project-type slugs as a project stores them: deduplicated and sorted.
 *
 * @param slugs The slugs as given.
 * @returns A new sorted list without repeats.
 */
export function projectTypeSlugs(slugs: string[] | undefined): string[] {
  return [...new Set(slugs ?? [])].sort(compareText);
}

/**
 * Checks the paging of a list call.
 *
 * @param page Limit and offset, both optional.
 * @returns The limit (null for none) and the offset.
 * @throws {RangeError} For a negative or non-integer limit or offset.
 */
export function paging(page: Page | undefined): { limit: number | null; offset: number } {
  const limit = page?.limit ?? null;
  const offset = page?.offset ?? 0;
  if (limit !== null && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new RangeError(`page limit must be >= 0, got ${limit}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`page offset must be >= 0, got ${offset}`);
  return { limit, offset };
}

/**
 * A service as stored: optional fields absent become null.
 *
 * @param svc The service as given or read.
 * @returns A new object with exactly the model's fields.
 */
export function toService(svc: ThirdPartyService): ThirdPartyService {
  return {
    slug: svc.slug,
    name: svc.name,
    vendor: svc.vendor ?? null,
    base_url: svc.base_url ?? null,
    account: svc.account ?? null,
    region: svc.region ?? null,
  };
}

/**
 * A service after an update: absent fields keep their value, `null` clears one.
 *
 * @param current The stored service.
 * @param patch The changes.
 * @returns The service to store.
 */
export function patchService(
  current: ThirdPartyService,
  patch: Partial<Omit<ThirdPartyService, "slug">>,
): ThirdPartyService {
  return {
    slug: current.slug,
    name: patch.name ?? current.name,
    vendor: patch.vendor === undefined ? current.vendor : patch.vendor,
    base_url: patch.base_url === undefined ? current.base_url : patch.base_url,
    account: patch.account === undefined ? current.account : patch.account,
    region: patch.region === undefined ? current.region : patch.region,
  };
}

/**
 * An application as a create stores it.
 *
 * @param app The application as given.
 * @returns A new object; absent credentials become `{}`.
 */
export function newApplication(app: ServiceApplication): ServiceApplication {
  return { slug: app.slug, name: app.name, credentials: { ...(app.credentials ?? {}) } };
}

/**
 * An application after an update: `credentials` replaces the whole map, then
 * `credential_changes` sets (a ciphertext) or removes (null) single fields.
 *
 * @param current The stored application.
 * @param patch The changes.
 * @returns The application to store.
 */
export function patchApplication(current: ServiceApplication, patch: ApplicationPatch): ServiceApplication {
  const credentials = { ...(patch.credentials ?? current.credentials) };
  for (const [field, sealed] of Object.entries(patch.credential_changes ?? {})) {
    if (sealed === null) delete credentials[field];
    else credentials[field] = sealed;
  }
  return { slug: current.slug, name: patch.name ?? current.name, credentials };
}

/**
 * A Plugin node as a create (or an import) stores it.
 *
 * @param input The node as given.
 * @param where Its service's slug and the application it ends up using.
 * @returns The node; a missing id becomes a new UUID, `enabled` defaults to true.
 */
export function newPluginNode(
  input: PluginNodeInput,
  where: { service: string; application: string | null },
): PluginNode {
  return {
    id: input.id ?? crypto.randomUUID(),
    slug: input.slug,
    service: where.service,
    application: where.application,
    plugin: input.plugin,
    plugin_type: input.plugin_type,
    label: input.label,
    options: structuredClone(input.options ?? {}),
    enabled: input.enabled ?? true,
  };
}

/**
 * A Plugin node after an update (the application is resolved by the store):
 * `options` replaces the options, except that those named in `keep_options`
 * and absent from it keep their current value.
 *
 * @param current The stored node.
 * @param patch The changes.
 * @returns The node to store, with the application of `current`.
 */
export function patchPluginNode(current: PluginNode, patch: PluginNodePatch): PluginNode {
  let options = current.options;
  if (patch.options) {
    options = { ...patch.options };
    for (const name of patch.keep_options ?? []) {
      if (!(name in options) && name in current.options) options[name] = current.options[name];
    }
  }
  return {
    ...current,
    slug: patch.slug ?? current.slug,
    label: patch.label ?? current.label,
    options,
    enabled: patch.enabled ?? current.enabled,
  };
}

/** What the rules need to know of a Plugin node; stores add their own keys. */
export interface BindingTarget {
  /** The Plugin node's slug. */
  slug: string;
  /** Its service's slug. */
  service: string;
  /** Its plugin type. */
  plugin_type: string;
}

/** A binding that passed, with the Plugin nodes it names. */
export interface CheckedBinding<P extends BindingTarget> {
  /** The binding as given. */
  binding: Binding;
  /** The Plugin node `plugin_id` names. */
  plugin: P;
  /** The Plugin node `identity_plugin_id` names, or null. */
  identity: P | null;
}

/**
 * A scope's label for messages: `project type "web"` or `project "billing"`.
 *
 * @param kind Project type or project.
 * @param slug Its slug.
 * @returns The label.
 */
export function scopeLabel(kind: "project_type" | "project", slug: string): string {
  return `${kind === "project_type" ? "project type" : "project"} "${slug}"`;
}

/**
 * Checks a scope's complete new set of bindings.
 *
 * @param bindings The bindings, in order.
 * @param context The org slug, a label of the scope for the message, how to
 *   find a Plugin node of the org by id, and a prefix for the JSON pointers.
 * @returns Each binding with its Plugin node (and identity node), in order.
 * @throws {ValidationError} Listing every break, pointers `<prefix>/bindings/<i>/<field>`.
 */
export function checkBindings<P extends BindingTarget>(
  bindings: Binding[],
  context: { org: string; scopeLabel: string; lookup: (id: string) => P | undefined; prefix: string },
): CheckedBinding<P>[] {
  const { org, lookup, prefix } = context;
  const errors: FieldError[] = [];
  const checked: CheckedBinding<P>[] = [];
  const seenPlugins = new Map<string, number>();
  const defaults = new Map<string, number>();
  const find = (id: unknown) => (typeof id === "string" ? lookup(id) : undefined);
  bindings.forEach((binding, i) => {
    const at = `${prefix}/bindings/${i}`;
    const plugin = find(binding.plugin_id);
    if (!plugin) {
      errors.push({
        pointer: `${at}/plugin_id`,
        message: `"${binding.plugin_id}" names no Plugin node of organization "${org}"`,
      });
    } else {
      if (binding.tab !== plugin.plugin_type) {
        errors.push({
          pointer: `${at}/tab`,
          message: `tab "${binding.tab}" does not match the plugin_type "${plugin.plugin_type}" of Plugin ` +
            `"${plugin.service}/${plugin.slug}"`,
        });
      }
      const first = seenPlugins.get(binding.plugin_id);
      if (first !== undefined) {
        errors.push({
          pointer: `${at}/plugin_id`,
          message: `Plugin "${plugin.service}/${plugin.slug}" is bound twice (first at ${prefix}/bindings/${first})`,
        });
      } else {
        seenPlugins.set(binding.plugin_id, i);
      }
    }
    if (binding.default === true) {
      const first = defaults.get(binding.tab);
      if (first !== undefined) {
        errors.push({
          pointer: `${at}/default`,
          message: `a second default for tab "${binding.tab}" (the first is ${prefix}/bindings/${first})`,
        });
      } else {
        defaults.set(binding.tab, i);
      }
    }
    const identityId = binding.identity_plugin_id ?? null;
    const identity = identityId === null ? null : find(identityId) ?? null;
    if (identityId !== null && identity === null) {
      errors.push({
        pointer: `${at}/identity_plugin_id`,
        message: `"${identityId}" names no Plugin node of organization "${org}"`,
      });
    }
    if (plugin) checked.push({ binding, plugin, identity });
  });
  if (errors.length > 0) {
    throw new ValidationError(
      `Bindings of ${context.scopeLabel} in organization "${org}" break ${errors.length} rule(s)`,
      errors,
    );
  }
  return checked;
}
