/**
 * Work over long lists in slices, with the event loop let in between, so
 * one plugin's answer of 100,000 items does not hold up the requests of
 * every other node (issue 9, requirement 3). A frame of megabytes is handled
 * on the answer worker's thread, and a listing in it arrives as an
 * {@linkcode EncodedList} (`core/sandbox/answer_worker.ts`); a long list
 * that arrived as a value (a frame under 1 MiB, or parsed in slices by
 * `core/sandbox/answer_parser.ts`) is sliced here on its way to the
 * response: its shape check, the response cache's measure of an entry, and
 * the response's JSON.
 *
 * A list of at most {@linkcode SLICE_ITEMS} items is handled in one go, as
 * before, and costs no extra turn of the event loop.
 *
 * @module
 */

import { EncodedList } from "./encoded_list.ts";

/** Items handled between two yields: about 1 ms of checking or serialising configuration keys here. */
export const SLICE_ITEMS = 5000;

/** Lets timers, I/O and other requests run before the next slice. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Wraps an element-wise list check (one that maps a list to a list item by
 * item, such as the SDK's `parseConfigKeys`) so that a long list is checked
 * in slices. An error names the item's index in the whole list, as the
 * check would have.
 *
 * @example
 * ```ts
 * const check = checkListInSlices(parseConfigKeys);
 * const keys = await check(answer); // 110,000 keys: 22 slices, the event loop let in between
 * ```
 *
 * @param check The element-wise check; it must not compare items with each other.
 * @returns The check, synchronous for a short list or anything that is not a list.
 */
export function checkListInSlices<T>(check: (value: unknown) => T[]): (value: unknown) => T[] | Promise<T[]> {
  return (value) => Array.isArray(value) && value.length > SLICE_ITEMS ? checkSliced(value, check) : check(value);
}

async function checkSliced<T>(list: unknown[], check: (value: unknown) => T[]): Promise<T[]> {
  const checked: T[] = [];
  for (let from = 0; from < list.length; from += SLICE_ITEMS) {
    if (from > 0) await yieldToEventLoop();
    let part: T[];
    try {
      part = check(list.slice(from, from + SLICE_ITEMS));
    } catch {
      // A bad item names its index within the slice: the whole list, checked at once, names it within the list. Only
      // an answer that breaks the protocol pays for that pass.
      return check(list);
    }
    for (const item of part) checked.push(item);
  }
  return checked;
}

/**
 * The length of `JSON.stringify(value)`, a long list (or an object member
 * that is one) measured in slices. An {@linkcode EncodedList} counts the
 * bytes it holds (its text and its masked copy), without being parsed.
 *
 * @param value A JSON value (checked plugin data: no `toJSON` but an {@linkcode EncodedList}'s, no cycles).
 * @returns Its JSON text's length in UTF-16 code units.
 */
export async function jsonLength(value: unknown): Promise<number> {
  if (value instanceof EncodedList) return value.json.length + (value.masked?.length ?? 0);
  if (Array.isArray(value)) {
    if (value.length <= SLICE_ITEMS) return JSON.stringify(value).length;
    // "[" + the slices' inner texts joined by "," + "]"
    let length = 1;
    for (let from = 0; from < value.length; from += SLICE_ITEMS) {
      if (from > 0) await yieldToEventLoop();
      length += JSON.stringify(value.slice(from, from + SLICE_ITEMS)).length - 1;
    }
    return length;
  }
  if (typeof value !== "object" || value === null) return JSON.stringify(value)?.length ?? 0;
  let length = 1;
  let members = 0;
  for (const [name, member] of Object.entries(value)) {
    if (member === undefined || typeof member === "function" || typeof member === "symbol") continue;
    length += JSON.stringify(name).length + 1 + await jsonLength(member) + 1;
    members++;
  }
  return members === 0 ? 2 : length;
}

/**
 * A JSON object's text as a stream: `head`'s members, then `list` under
 * `field`, serialised {@linkcode SLICE_ITEMS} items at a time with the event
 * loop let in between, then `tail`'s members. The text is the one
 * `JSON.stringify({ ...head, [field]: list, ...tail })` would give when
 * `field` is in neither.
 *
 * @param head Members before the list.
 * @param field The list's member name.
 * @param list The list.
 * @param tail Members after the list.
 * @returns The UTF-8 text, in chunks.
 */
export function jsonListStream(
  head: Record<string, unknown>,
  field: string,
  list: readonly unknown[],
  tail: Record<string, unknown> = {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const opening = JSON.stringify(head).slice(0, -1);
  const closing = JSON.stringify(tail).slice(1, -1);
  let from = 0;
  return new ReadableStream({
    async pull(controller) {
      if (from > 0) await yieldToEventLoop();
      const items = JSON.stringify(list.slice(from, from + SLICE_ITEMS)).slice(1, -1);
      const before = from === 0 ? `${opening}${opening.length > 1 ? "," : ""}${JSON.stringify(field)}:[` : ",";
      from += SLICE_ITEMS;
      const last = from >= list.length;
      const after = last ? `]${closing && `,${closing}`}}` : "";
      controller.enqueue(encoder.encode(`${before}${items}${after}`));
      if (last) controller.close();
    },
  });
}
