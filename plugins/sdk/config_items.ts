/**
 * Helpers for configuration handlers: the rules of the protocol every
 * backend needs the same way (an unknown data type is `invalid_input`,
 * `listKeys` has no values, `getValues(keys)` omits missing keys, items in
 * key order).
 *
 * @example
 * ```ts
 * import { byKey, findDataType, selectKeys, withoutValues } from "@imbi/plugin-sdk";
 * const type = findDataType(DATA_TYPES, input.data_type); // throws InvalidInput naming the valid ones
 * const all = (await readAll()).sort(byKey);
 * return keys ? selectKeys(all, keys) : withoutValues(all);
 * ```
 *
 * @module
 */

import { InvalidInput } from "./errors.ts";
import type { ConfigKey, ConfigValue, DataType } from "./types.ts";

/**
 * Orders items by key, in code-unit order (as most backends list them).
 *
 * @param a One item.
 * @param b Another.
 * @returns Negative, zero or positive, for `Array.prototype.sort`.
 */
export function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The data type a write names.
 *
 * @param types The manifest's data types (with any fields of your own).
 * @param name The `data_type` the host passed.
 * @returns The matching entry of `types`.
 * @throws {InvalidInput} When no data type has that name; the message lists the valid ones.
 */
export function findDataType<T extends DataType>(types: readonly T[], name: string): T {
  const type = types.find((t) => t.name === name);
  if (!type) {
    throw new InvalidInput(`Unknown data_type ${JSON.stringify(name)}; use ${types.map((t) => t.name).join(", ")}`);
  }
  return type;
}

/**
 * The keys of some values, without the values: what `listKeys` returns.
 *
 * @param values Items with their values.
 * @returns The same items without `value`.
 */
export function withoutValues(values: readonly ConfigValue[]): ConfigKey[] {
  return values.map(({ value: _value, ...key }) => key);
}

/**
 * The items of some keys, in the items' order; keys without an item are
 * omitted, as `getValues(ctx, keys)` must.
 *
 * @param values Every item.
 * @param keys The keys asked for, or undefined for every item.
 * @returns The items asked for.
 */
export function selectKeys<T extends { key: string }>(values: readonly T[], keys: readonly string[] | undefined): T[] {
  if (keys === undefined) return [...values];
  const wanted = new Set(keys);
  return values.filter((item) => wanted.has(item.key));
}
