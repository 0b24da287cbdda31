/**
 * Parsing what a plugin process answers without stalling the service. A
 * `JSON.parse` of a 12 MB answer holds the event loop for seconds on a busy
 * machine, and every other request waits. Small frames are parsed at once;
 * a large one is cut along its own structure into slices of about
 * {@linkcode SLICE_CHARS} characters, each parsed by the native parser, with
 * a turn of the event loop between slices of work that took longer than
 * {@linkcode SLICE_MS}. The same walk bounds the nesting depth.
 *
 * @module
 */

import { yieldToEventLoop } from "../slices.ts";
import { FrameError, MAX_ANSWER_DEPTH } from "./protocol.ts";

/** Frames of at most this many characters are parsed in one go. */
export const SLICE_CHARS = 64 * 1024;

/** Work between two turns of the event loop while a large frame is parsed, ms. */
export const SLICE_MS = 4;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

function malformed(what: string): FrameError {
  return new FrameError("malformed", `a frame is not valid JSON: ${what}`);
}

function tooDeep(maxDepth: number): FrameError {
  return new FrameError("too_large", `a frame nests deeper than ${maxDepth} levels`);
}

/** Index of the quote that closes the string opening at `open`. */
function stringEnd(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) throw malformed("a string is not closed");
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return at;
  }
}

/**
 * Where the value starting at `start` ends (exclusive), checking that it
 * nests at most `maxDepth - depth` levels further. A value that is not a
 * container ends at the next comma or closing bracket of its parent. With
 * `within`, a container that does not end within that many characters is
 * not scanned to its end: -1 (a container of megabytes is walked element by
 * element instead, in slices, and scanning it whole first held the event
 * loop for 10 to 15 ms per 11 MB).
 */
function valueEnd(text: string, start: number, depth: number, maxDepth: number, within = Infinity): number {
  let level = 0;
  const stop = Math.min(text.length, start + within);
  for (let at = start; at < text.length; at++) {
    if (at >= stop && level > 0) return -1;
    const c = text.charCodeAt(at);
    if (c === QUOTE) {
      at = stringEnd(text, at);
      if (level === 0) return at + 1;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (depth + ++level > maxDepth) throw tooDeep(maxDepth);
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      if (level === 0) return at;
      if (--level === 0) return at + 1;
    } else if (c === COMMA && level === 0) {
      return at;
    }
  }
  return text.length;
}

function skipSpace(text: string, at: number): number {
  while (at < text.length && text.charCodeAt(at) <= 0x20) at++;
  return at;
}

/**
 * The nesting depth of a JSON text is at most `maxDepth`.
 *
 * @param text A JSON text.
 * @param maxDepth The most levels of arrays and objects allowed.
 * @throws {FrameError} `too_large` when it nests deeper; `malformed` on an unclosed string.
 */
export function checkDepth(text: string, maxDepth: number = MAX_ANSWER_DEPTH): void {
  if (opensAtMost(text, maxDepth)) return;
  valueEnd(text, skipSpace(text, 0), 0, maxDepth);
}

/**
 * Whether the text holds at most `max` opening brackets (in strings too): then it cannot nest deeper than `max`,
 * and a small answer (a listing of tens of objects) skips the walk character by character. A string left open is
 * then `JSON.parse`'s to refuse.
 */
function opensAtMost(text: string, max: number): boolean {
  let count = 0;
  for (const open of ["{", "["]) {
    for (let at = text.indexOf(open); at >= 0; at = text.indexOf(open, at + 1)) {
      if (++count > max) return false;
    }
  }
  return true;
}

/**
 * Parses a small frame's JSON text at once, its nesting depth checked first.
 *
 * @param text A JSON text of at most about {@linkcode SLICE_CHARS} characters.
 * @param maxDepth The most levels of arrays and objects allowed.
 * @returns The parsed value.
 * @throws {FrameError} `too_large` when it nests deeper than `maxDepth`; `malformed` when it is not JSON.
 */
export function parseWhole(text: string, maxDepth: number = MAX_ANSWER_DEPTH): unknown {
  checkDepth(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new FrameError("malformed", "a frame is not UTF-8 JSON", { cause });
  }
}

/** Sets a member the way `JSON.parse` does: an own property, even for `__proto__`. */
function setMember(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** A run of small neighbouring values, `[first, last)` of the text; `first` is -1 when empty. */
interface Run {
  first: number;
  last: number;
}

/** Parses one JSON text in slices; the clock decides when to let other work run. */
class SlicedParser {
  #text: string;
  #maxDepth: number;
  #sliceStart = performance.now();
  #steps = 0;
  #end = 0;

  constructor(text: string, maxDepth: number) {
    this.#text = text;
    this.#maxDepth = maxDepth;
  }

  async #pause(): Promise<void> {
    // Reading the clock costs too: look at it every 64 elements.
    if ((++this.#steps & 63) !== 0 || performance.now() - this.#sliceStart < SLICE_MS) return;
    await yieldToEventLoop();
    this.#sliceStart = performance.now();
  }

  #native(start: number, end: number, wrap: "" | "[]" | "{}" = ""): unknown {
    const slice = this.#text.slice(start, end);
    try {
      return JSON.parse(wrap === "" ? slice : wrap[0] + slice + wrap[1]);
    } catch (cause) {
      throw new FrameError("malformed", "a frame is not UTF-8 JSON", { cause });
    }
  }

  /** The value in `[start, end)` (`end` -1: a container whose end is not known yet), at nesting `depth`. */
  async value(start: number, end: number, depth: number): Promise<unknown> {
    const text = this.#text;
    start = skipSpace(text, start);
    if (end >= 0 && end - start <= SLICE_CHARS) {
      valueEnd(text, start, depth, this.#maxDepth);
      return this.#native(start, end);
    }
    const open = text.charCodeAt(start);
    if (open === OPEN_ARRAY) return await this.#array(start, depth + 1);
    if (open === OPEN_OBJECT) return await this.#object(start, depth + 1);
    this.#end = end;
    return this.#native(start, end);
  }

  /**
   * Adds the small value in `[start, end)` to the run of neighbours parsed together by one native call
   * (`[first, …, last]` or `{first, …, last}`), flushing the run when it grows past a slice.
   */
  #add(run: Run, start: number, end: number, flush: () => void): void {
    if (run.first < 0) run.first = start;
    run.last = end;
    if (run.last - run.first > SLICE_CHARS) flush();
  }

  /** The start of the next element or member after one that ends at `end`, or the index of `close`. */
  #next(end: number, close: number): number {
    const text = this.#text;
    const at = skipSpace(text, end);
    if (text.charCodeAt(at) === COMMA) return skipSpace(text, at + 1);
    if (text.charCodeAt(at) !== close) throw malformed(`unexpected character at ${at}`);
    return at;
  }

  /**
   * Walks the elements or members of the container opening at `open`: `step` parses the one at an index and returns
   * where it ends; then `flush` parses the last run, and {@linkcode end} is set past the closing bracket.
   */
  async #walk(
    open: number,
    container: { depth: number; close: number },
    step: (at: number) => Promise<number>,
    flush: () => void,
  ): Promise<void> {
    if (container.depth > this.#maxDepth) throw tooDeep(this.#maxDepth);
    let at = skipSpace(this.#text, open + 1);
    while (this.#text.charCodeAt(at) !== container.close) {
      at = this.#next(await step(at), container.close);
      await this.#pause();
    }
    flush();
    this.#end = at + 1;
  }

  async #array(open: number, depth: number): Promise<unknown[]> {
    const text = this.#text;
    const items: unknown[] = [];
    const run: Run = { first: -1, last: -1 };
    const flush = () => {
      if (run.first >= 0) { for (const item of this.#native(run.first, run.last, "[]") as unknown[]) items.push(item); }
      run.first = -1;
    };
    await this.#walk(open, { depth, close: CLOSE_ARRAY }, async (at) => {
      if (at >= text.length) throw malformed("an array is not closed");
      const end = valueEnd(text, at, depth, this.#maxDepth, SLICE_CHARS + 1);
      if (end < 0 || end - at > SLICE_CHARS) {
        flush();
        items.push(await this.value(at, end, depth));
        return end < 0 ? this.#end : end;
      }
      this.#add(run, at, end, flush);
      return end;
    }, flush);
    return items;
  }

  async #object(open: number, depth: number): Promise<Record<string, unknown>> {
    const text = this.#text;
    const target: Record<string, unknown> = {};
    const run: Run = { first: -1, last: -1 };
    const flush = () => {
      if (run.first < 0) return;
      const part = this.#native(run.first, run.last, "{}") as Record<string, unknown>;
      for (const key of Object.keys(part)) setMember(target, key, part[key]);
      run.first = -1;
    };
    await this.#walk(open, { depth, close: CLOSE_OBJECT }, async (at) => {
      if (text.charCodeAt(at) !== QUOTE) throw malformed(`expected a member name at ${at}`);
      const keyEnd = stringEnd(text, at) + 1;
      const colon = skipSpace(text, keyEnd);
      if (text.charCodeAt(colon) !== COLON) throw malformed(`expected ":" at ${colon}`);
      const valueStart = skipSpace(text, colon + 1);
      const end = valueEnd(text, valueStart, depth, this.#maxDepth, SLICE_CHARS + 1);
      if (end < 0 || end - valueStart > SLICE_CHARS) {
        flush();
        setMember(target, this.#native(at, keyEnd) as string, await this.value(valueStart, end, depth));
        return end < 0 ? this.#end : end;
      }
      this.#add(run, at, end, flush);
      return end;
    }, flush);
    return target;
  }

  /** Index just past the container parsed last. */
  get end(): number {
    return this.#end;
  }
}

/**
 * Parses a frame's JSON text: at once when it is small, else in slices that
 * let other requests run between them. Either way the nesting depth is
 * checked first, and the value is what `JSON.parse` would return.
 *
 * @param text The frame body, decoded.
 * @param maxDepth The most levels of arrays and objects allowed.
 * @returns The parsed value.
 * @throws {FrameError} `too_large` when it nests deeper than `maxDepth`; `malformed` when it is not JSON.
 */
export async function parseAnswer(text: string, maxDepth: number = MAX_ANSWER_DEPTH): Promise<unknown> {
  const start = skipSpace(text, 0);
  if (text.length - start <= SLICE_CHARS) return parseWhole(text, maxDepth);
  const parser = new SlicedParser(text, maxDepth);
  const value = await parser.value(start, text.length, 0);
  if (skipSpace(text, parser.end) !== text.length) throw malformed(`unexpected text after the value at ${parser.end}`);
  return value;
}
