/**
 * A plugin's long list answer as the service keeps it when it was checked
 * and serialised off the main thread (`core/sandbox/answer_worker.ts`):
 * its JSON text as UTF-8 bytes, never parsed on the main thread. The tab
 * routes write the bytes into the response, the response cache measures and
 * keeps them, and a caller who may not see secret values gets the masked
 * copy the worker made beside them. Also the masking rule both sides share.
 *
 * @module
 */

import type { ConfigValue } from "@imbi/plugin-sdk";

/** What a read-only caller sees in place of a secret configuration value. */
export const MASKED_VALUE = "********";

/** A configuration value as the API shows it: `masked` when the value was replaced by {@linkcode MASKED_VALUE}. */
export type ShownValue = ConfigValue & { masked?: true };

/**
 * The names of a manifest's secret data types.
 *
 * @param types The manifest's `data_types`.
 * @returns Their names, for {@linkcode maskedValue}.
 */
export function secretDataTypes(types: readonly { name: string; secret?: boolean }[] = []): string[] {
  return types.filter((t) => t.secret).map((t) => t.name);
}

/**
 * A configuration value as a caller without the admin token sees it: masked when the key says `secret` or its data
 * type is secret in the manifest.
 *
 * @param item The checked value.
 * @param secretTypes The manifest's secret data types.
 * @returns The item itself, or a masked copy.
 */
export function maskedValue(item: ConfigValue, secretTypes: ReadonlySet<string>): ShownValue {
  return item.secret || secretTypes.has(item.data_type)
    ? { ...item, secret: true, value: MASKED_VALUE, masked: true }
    : item;
}

/** The list methods whose long answers may come back encoded. */
export type EncodedMethod = "listKeys" | "getValues";

/** How a call's long list answer may come back encoded: its method, and the manifest's secret data types for masking. */
export interface EncodeAs {
  method: EncodedMethod;
  secretTypes: readonly string[];
}

/**
 * A checked list answer as JSON text (UTF-8), with its masked copy when it
 * holds secret values.
 *
 * @example
 * ```ts
 * const list = new EncodedList("listKeys", new TextEncoder().encode('[{"key":"A"}]'), 1, null);
 * list.shown(false) === list; // nothing to mask
 * ```
 */
export class EncodedList {
  /**
   * Wraps what the answer worker produced.
   *
   * @param method The method that answered.
   * @param json The checked list's JSON text.
   * @param length Its number of items.
   * @param masked The same list with the values of secret keys masked ({@linkcode maskedValue}); null when none is.
   */
  constructor(
    readonly method: EncodedMethod,
    readonly json: Uint8Array,
    readonly length: number,
    readonly masked: Uint8Array | null,
  ) {}

  /**
   * The list as a caller sees it.
   *
   * @param revealSecrets The caller may see secret values.
   * @returns This list, or its masked copy.
   */
  shown(revealSecrets: boolean): EncodedList {
    return revealSecrets || this.masked === null ? this : new EncodedList(this.method, this.masked, this.length, null);
  }

  /**
   * The list parsed, for `JSON.stringify`: correct anywhere, but a parse of megabytes on the calling thread. The tab
   * routes write {@linkcode EncodedList.json} instead.
   */
  toJSON(): unknown {
    return JSON.parse(new TextDecoder().decode(this.json));
  }
}
