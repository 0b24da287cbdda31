/**
 * The write rules of one scope's `USES_PLUGIN` edges (spec section 6), shared
 * by every graph store so the rules and their messages cannot drift: each
 * `plugin_id` (and `identity_plugin_id`) names a Plugin node of the org, the
 * tab equals its plugin type, no Plugin node twice, at most one default per
 * tab.
 *
 * @module
 */

import { type FieldError, ValidationError } from "../errors.ts";
import type { Binding } from "./store.ts";

/** What the rules need to know of a Plugin node; stores add their own keys. */
export interface BindingTarget {
  slug: string;
  service: string;
  plugin_type: string;
}

/** A binding that passed, with the Plugin nodes it names. */
export interface CheckedBinding<P extends BindingTarget> {
  binding: Binding;
  plugin: P;
  identity: P | null;
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
