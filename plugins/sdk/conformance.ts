/**
 * The conformance suite: checks that a handler keeps the plugin API 1.0
 * protocol of its `plugin_type` (spec section 2.2), through any
 * {@linkcode HandlerRunner}: in process, or inside the real sandbox.
 *
 * Configuration: result shapes, no values in `listKeys`, missing keys omitted
 * by `getValues`, overwrite, secret data types flagged, unknown data types
 * refused with `invalid_input`, idempotent `deleteKey`, `describePrefix`.
 * The suite writes and deletes its own keys (`IMBI_CONFORMANCE_<random>_<n>`),
 * so point it at a test backend.
 *
 * Logs: page shapes, newest-first order, `limit`, paging through every entry
 * with cursors without gaps or repeats, foreign and malformed cursors refused
 * with `cursor_expired`, level filtering, unknown filter operators refused
 * with `invalid_input`, `schema` and `histogram` shapes. The backend must hold
 * at least `minEntries` entries in the query window.
 *
 * Both: `checkConnection`'s answer names what it checked, when implemented;
 * when given a runner with credentials the backend refuses, the first call
 * and `checkConnection` fail with `credentials_rejected`.
 *
 * @example
 * ```ts
 * Deno.test("aws-ssm keeps the configuration protocol", async (t) => {
 *   const runner = inProcess(SsmConfiguration, init);
 *   await conformanceSteps(t, runner, { ctx });
 *   await runner.close();
 * });
 * ```
 *
 * @module
 */

import type {
  CallContext,
  CheckContext,
  ConfigKey,
  ConfigValue,
  HistogramBucket,
  LogField,
  LogPage,
  LogQuery,
  PluginManifest,
  ProtocolMethod,
} from "./types.ts";
import { parseConfigKey, parseConnectionCheck, parseHistogram, parseLogFields, parseLogPage } from "./results.ts";

/** Something that can call a handler's protocol methods: in process or through the sandbox. */
export interface HandlerRunner {
  /** The handler's manifest. */
  readonly manifest: PluginManifest;
  /**
   * Calls one protocol method. `args` starts with the call context. Results
   * come back as they would over the wire (JSON). A handler failure rejects
   * with an error carrying the typed `kind` (`"not_found"`, ...).
   */
  call<T = unknown>(method: ProtocolMethod, args: unknown[]): Promise<T>;
  /** Releases the handler (and its process, if any). */
  close(): Promise<void>;
}

/** Options of the configuration suite. */
export interface ConfigurationConformanceOptions {
  /** The call context; its `search_template` selects the test prefix. */
  ctx: CallContext;
  /** Value to write per data type name; defaults suit common names (`string_list` -> `"a,b,c"`, ...). */
  samples?: Record<string, string>;
  /** A runner whose credentials the backend refuses (checks `credentials_rejected`). */
  rejectedCredentials?: HandlerRunner;
}

/** Options of the logs suite. */
export interface LogsConformanceOptions {
  /** The call context. */
  ctx: CallContext;
  /** The window holding the seeded entries (filters and levels default to none). */
  query: Pick<LogQuery, "start" | "end"> & Partial<Pick<LogQuery, "filters" | "levels">>;
  /** How many entries the window holds at least (default 5). */
  minEntries?: number;
  /** A runner whose credentials the backend refuses (checks `credentials_rejected`). */
  rejectedCredentials?: HandlerRunner;
}

/** Options of {@linkcode checkConformance}, by plugin type. */
export type ConformanceOptions = ConfigurationConformanceOptions | LogsConformanceOptions;

/** One check and how it went. */
export interface CheckResult {
  /** What the check proves, e.g. `"deleteKey() removes a key and is idempotent"`. */
  name: string;
  /** True when it passed. */
  ok: boolean;
  /** Why it failed. */
  error?: string;
}

/** Every check of one handler. */
export interface ConformanceReport {
  /** The handler's manifest slug. */
  slug: string;
  /** The protocol it was checked against. */
  plugin_type: string;
  /** Every check, in the order they ran. */
  results: CheckResult[];
  /** True when every check passed. */
  ok: boolean;
}

/** One named check; checks of a suite run in order and share state. */
interface Check {
  name: string;
  run(): Promise<void>;
}

/** A conformance failure: the message says what the protocol expected. */
export class ConformanceError extends Error {
  /** Always `"ConformanceError"`. */
  override name = "ConformanceError";
}

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}

/** Runs one of the host's result parsers: what the host would refuse fails the check too. */
function shaped(parse: () => unknown, where: string): void {
  try {
    parse();
  } catch (error) {
    if (error instanceof TypeError) throw new ConformanceError(`${where}: ${error.message}`);
    throw error;
  }
}

function isIsoDate(value: unknown): boolean {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value));
}

async function expectKind(promise: Promise<unknown>, kind: string, what: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    const actual = (error as { kind?: unknown })?.kind;
    expect(actual === kind, `${what}: expected a "${kind}" error, got ${actual ? `"${actual}"` : String(error)}`);
    return;
  }
  throw new ConformanceError(`${what}: expected a "${kind}" error, but the call succeeded`);
}

const DEFAULT_SAMPLES: Record<string, string> = {
  string_list: "alpha,beta,gamma",
  stringlist: "alpha,beta,gamma",
  list: "alpha,beta,gamma",
  json: '{"conformance":true}',
  number: "42",
  integer: "42",
  boolean: "true",
};

function sampleFor(dataType: string, n: number, samples: Record<string, string>): string {
  return samples[dataType] ?? DEFAULT_SAMPLES[dataType] ?? `conformance value ${n}`;
}

function checkKeyShape(item: unknown, where: string): asserts item is ConfigKey {
  shaped(() => parseConfigKey(item), where);
  const k = item as ConfigKey;
  expect(k.key !== "", `${where}.key must be a non-empty string`);
  expect(k.last_modified === undefined || isIsoDate(k.last_modified), `${where}.last_modified must be ISO 8601`);
}

function configurationChecks(runner: HandlerRunner, options: ConfigurationConformanceOptions): Check[] {
  const { manifest } = runner;
  const ctx = options.ctx;
  const samples = options.samples ?? {};
  const tag = crypto.randomUUID().replaceAll("-", "").slice(0, 8).toUpperCase();
  const key = (n: number) => `IMBI_CONFORMANCE_${tag}_${n}`;
  const types = manifest.data_types?.length
    ? manifest.data_types
    : [{ name: "string", label: "String", secret: false }];
  const writeOnly = manifest.hints?.write_only_secrets === true;
  const plain = types.find((t) => !t.secret) ?? types[0]!;
  const written = new Map<string, { value: string; data_type: string; secret: boolean }>();
  const call = <T>(method: ProtocolMethod, ...args: unknown[]) => runner.call<T>(method, [ctx, ...args]);

  return [
    {
      name: "manifest declares plugin_type configuration and well-formed data_types",
      run() {
        expect(manifest.plugin_type === "configuration", `plugin_type is "${manifest.plugin_type}"`);
        const names = new Set(types.map((t) => t.name));
        expect(names.size === types.length, "data_types names must be unique");
        return Promise.resolve();
      },
    },
    {
      name: "setValue() stores every data type and returns the key without its value",
      async run() {
        for (const [i, type] of types.entries()) {
          const value = sampleFor(type.name, i, samples);
          const stored = await call<ConfigKey>("setValue", key(i), { value, data_type: type.name });
          checkKeyShape(stored, `setValue(${key(i)})`);
          expect(stored.key === key(i), `setValue returned key "${stored.key}", expected "${key(i)}"`);
          expect(stored.data_type === type.name, `setValue returned data_type "${stored.data_type}"`);
          expect(stored.secret === type.secret, `data type "${type.name}" must come back with secret ${type.secret}`);
          expect(!("value" in stored), "setValue must not echo the value");
          written.set(key(i), { value, data_type: type.name, secret: type.secret });
        }
      },
    },
    {
      name: "listKeys() lists the keys with their data types and no values",
      async run() {
        const items = await call<ConfigKey[]>("listKeys");
        expect(Array.isArray(items), "listKeys must return a list");
        items.forEach((item, i) => checkKeyShape(item, `listKeys()[${i}]`));
        expect(items.every((item) => !("value" in item)), "listKeys must not return values");
        for (const [name, want] of written) {
          const item = items.find((k) => k.key === name);
          expect(item, `listKeys is missing "${name}"`);
          expect(
            item.data_type === want.data_type,
            `"${name}" listed as ${item.data_type}, stored as ${want.data_type}`,
          );
          expect(item.secret === want.secret, `"${name}" listed with secret ${item.secret}`);
        }
        expect(new Set(items.map((k) => k.key)).size === items.length, "listKeys must not repeat a key");
      },
    },
    {
      name: "getValues() returns every value (secret ones too unless hints.write_only_secrets)",
      async run() {
        const items = await call<ConfigValue[]>("getValues");
        expect(Array.isArray(items), "getValues must return a list");
        for (const [name, want] of written) {
          const item = items.find((k) => k.key === name);
          expect(item, `getValues() is missing "${name}"`);
          checkKeyShape(item, `getValues()["${name}"]`);
          expect(typeof item.value === "string", `"${name}".value must be a string`);
          const expected = want.secret && writeOnly ? "" : want.value;
          expect(item.value === expected, `"${name}" has value ${JSON.stringify(item.value)}, wrote ${expected}`);
        }
      },
    },
    {
      name: "getValues(keys) omits missing keys instead of failing",
      async run() {
        const missing = `${key(99)}_MISSING`;
        const items = await call<ConfigValue[]>("getValues", [key(0), missing]);
        expect(Array.isArray(items), "getValues must return a list");
        expect(
          items.length === 1 && items[0]!.key === key(0),
          `expected only "${key(0)}", got ${JSON.stringify(items.map((i) => i.key))}`,
        );
        const none = await call<ConfigValue[]>("getValues", [missing]);
        expect(Array.isArray(none) && none.length === 0, "getValues of only missing keys must be []");
      },
    },
    {
      name: "setValue() overwrites an existing key",
      async run() {
        const value = sampleFor(plain.name, 7, {
          ...samples,
          [plain.name]: samples[`${plain.name}:updated`] ?? "updated value",
        });
        const name = key(types.indexOf(plain));
        await call("setValue", name, { value, data_type: plain.name });
        written.set(name, { value, data_type: plain.name, secret: plain.secret });
        const [item] = await call<ConfigValue[]>("getValues", [name]);
        const expected = plain.secret && writeOnly ? "" : value;
        expect(item?.value === expected, `after overwrite "${name}" is ${JSON.stringify(item?.value)}`);
      },
    },
    {
      name: "setValue() refuses an unknown data type with invalid_input",
      async run() {
        await expectKind(
          call("setValue", key(98), { value: "x", data_type: "no-such-data-type" }),
          "invalid_input",
          "setValue with data_type no-such-data-type",
        );
      },
    },
    {
      name: "deleteKey() removes a key and is idempotent",
      async run() {
        const name = key(0);
        await call("deleteKey", name);
        await call("deleteKey", name);
        written.delete(name);
        const keys = await call<ConfigKey[]>("listKeys");
        expect(!keys.some((k) => k.key === name), `"${name}" is still listed after deleteKey`);
        const values = await call<ConfigValue[]>("getValues", [name]);
        expect(values.length === 0, `"${name}" still has a value after deleteKey`);
        await call("deleteKey", `${key(97)}_NEVER_EXISTED`);
      },
    },
    {
      name: "describePrefix() returns a string or null when implemented",
      async run() {
        let prefix: unknown;
        try {
          prefix = await call("describePrefix");
        } catch (error) {
          if ((error as { kind?: string }).kind === "not_implemented") return;
          throw error;
        }
        expect(prefix === null || typeof prefix === "string", `describePrefix returned ${JSON.stringify(prefix)}`);
      },
    },
    connectionCheck(runner, ctx),
    ...rejectedCheck(options.rejectedCredentials, ctx, "listKeys"),
    {
      name: "cleanup: the suite's keys are deleted",
      async run() {
        for (const name of written.keys()) await call("deleteKey", name);
        const keys = await call<ConfigKey[]>("listKeys");
        const left = keys.filter((k) => k.key.startsWith(`IMBI_CONFORMANCE_${tag}`));
        expect(left.length === 0, `keys left behind: ${left.map((k) => k.key).join(", ")}`);
      },
    },
  ];
}

/** The context `checkConnection` gets: no project, no search_template. */
function checkContext(ctx: CallContext): CheckContext {
  return { org: ctx.org, request_id: ctx.request_id };
}

/** Calls `checkConnection`; undefined when the handler does not implement it. */
async function connectionOf(runner: HandlerRunner, ctx: CallContext): Promise<unknown> {
  try {
    return await runner.call("checkConnection", [checkContext(ctx)]);
  } catch (error) {
    if ((error as { kind?: string }).kind === "not_implemented") return undefined;
    throw error;
  }
}

function connectionCheck(runner: HandlerRunner, ctx: CallContext): Check {
  return {
    name: "checkConnection() says what it checked when implemented",
    async run() {
      const answer = await connectionOf(runner, ctx);
      if (answer !== undefined) shaped(() => parseConnectionCheck(answer), "checkConnection()");
    },
  };
}

function rejectedCheck(runner: HandlerRunner | undefined, ctx: CallContext, method: ProtocolMethod): Check[] {
  if (!runner) return [];
  const args: unknown[] = method === "search"
    ? [ctx, {
      start: new Date(Date.now() - 3600_000).toISOString(),
      end: new Date().toISOString(),
      filters: [],
      levels: [],
      limit: 1,
    }]
    : [ctx];
  return [{
    name: "rejected credentials fail with credentials_rejected",
    run: () => expectKind(runner.call(method, args), "credentials_rejected", `${method} with rejected credentials`),
  }, {
    name: "checkConnection() with rejected credentials fails with credentials_rejected when implemented",
    async run() {
      let answer: unknown;
      try {
        answer = await connectionOf(runner, ctx);
      } catch (error) {
        const actual = (error as { kind?: unknown })?.kind;
        expect(actual === "credentials_rejected", `checkConnection with rejected credentials: got ${String(actual)}`);
        return;
      }
      if (answer === undefined) return;
      throw new ConformanceError("checkConnection with rejected credentials succeeded");
    },
  }];
}

/**
 * A page the host accepts (its parser), and stricter: `warnings` present,
 * a non-empty `next_cursor` when present, ISO timestamps inside the window,
 * `fields` present, no `null` level.
 */
function checkPage(page: LogPage, query: LogQuery, where: string): void {
  shaped(() => parseLogPage(page, query.limit), where);
  expect(Array.isArray(page.warnings), `${where}.warnings must be a list of strings`);
  expect(
    page.next_cursor === undefined || (typeof page.next_cursor === "string" && page.next_cursor !== ""),
    `${where}.next_cursor must be a non-empty string when present`,
  );
  const start = Date.parse(query.start);
  const end = Date.parse(query.end);
  page.entries.forEach((entry, i) => {
    const at = `${where}.entries[${i}]`;
    expect(isIsoDate(entry.timestamp), `${at}.timestamp must be ISO 8601, got ${JSON.stringify(entry.timestamp)}`);
    expect(entry.fields !== undefined && entry.fields !== null, `${at}.fields must be an object`);
    expect(entry.level !== null, `${at}.level must be a string when present`);
    const t = Date.parse(entry.timestamp);
    expect(t >= start && t <= end, `${at}.timestamp ${entry.timestamp} is outside ${query.start}..${query.end}`);
  });
}

function entryId(entry: { timestamp: string; message: string; fields: Record<string, unknown> }): string {
  return JSON.stringify([Date.parse(entry.timestamp), entry.message, entry.fields]);
}

function logsChecks(runner: HandlerRunner, options: LogsConformanceOptions): Check[] {
  const { manifest } = runner;
  const ctx = options.ctx;
  const minEntries = options.minEntries ?? 5;
  const base: LogQuery = { filters: [], levels: [], limit: 1000, ...options.query };
  const search = (query: LogQuery) => runner.call<LogPage>("search", [ctx, query]);
  let all: LogPage["entries"] = [];
  /** The window holds more than one page of 1000. */
  let truncated = false;

  return [
    {
      name: "manifest declares plugin_type logs",
      run() {
        expect(manifest.plugin_type === "logs", `plugin_type is "${manifest.plugin_type}"`);
        return Promise.resolve();
      },
    },
    {
      name: "search() returns well-formed entries, newest first, inside the window",
      async run() {
        const page = await search(base);
        checkPage(page, base, "search()");
        expect(
          page.entries.length >= minEntries,
          `the window holds ${page.entries.length} entries, the suite needs ${minEntries}`,
        );
        all = page.entries;
        truncated = page.next_cursor !== undefined;
      },
    },
    {
      name: "search() honours limit and pages through every entry with cursors",
      async run() {
        // Small pages, but never more than about 50 of them.
        const limit = Math.max(2, Math.ceil(all.length / 50));
        const seen: string[] = [];
        const times: number[] = [];
        let cursor: string | undefined;
        for (let pageNo = 0; pageNo < 60; pageNo++) {
          const query = { ...base, limit, ...(cursor ? { cursor } : {}) };
          const page = await search(query);
          checkPage(page, query, `search(limit ${limit}, page ${pageNo + 1})`);
          if (pageNo === 0) expect(page.next_cursor, "a full first page of a larger window must return next_cursor");
          seen.push(...page.entries.map(entryId));
          times.push(...page.entries.map((e) => Date.parse(e.timestamp)));
          cursor = page.next_cursor;
          if (!cursor || seen.length >= all.length) break;
        }
        expect(!cursor || seen.length >= all.length, "paging did not end");
        expect(new Set(seen).size === seen.length, "paging repeated an entry");
        expect(times.every((t, i) => i === 0 || t <= times[i - 1]!), "pages together must be newest first");
        const expected = all.map(entryId);
        const prefix = new Set(seen.slice(0, expected.length));
        expect(
          seen.length >= expected.length,
          `paging returned ${seen.length} entries, one big page ${expected.length}`,
        );
        expect(expected.every((id) => prefix.has(id)), "paging skipped or reordered an entry the big page has");
        if (!truncated) {
          expect(
            seen.length === expected.length,
            `paging returned ${seen.length} entries, the window holds ${expected.length}`,
          );
        }
      },
    },
    {
      name: "search() refuses a cursor of another query or a malformed one with cursor_expired",
      async run() {
        const first = await search({ ...base, limit: 1 });
        expect(first.next_cursor, "a page of limit 1 over a larger window must return next_cursor");
        const shifted = new Date(Date.parse(base.start) - 1000).toISOString();
        await expectKind(
          search({ ...base, start: shifted, limit: 1, cursor: first.next_cursor }),
          "cursor_expired",
          "cursor of another time range",
        );
        await expectKind(
          search({ ...base, levels: ["no-such-level"], limit: 1, cursor: first.next_cursor }),
          "cursor_expired",
          "cursor of other levels",
        );
        await expectKind(search({ ...base, limit: 1, cursor: "not-a-cursor" }), "cursor_expired", "malformed cursor");
      },
    },
    {
      name: "search() with levels returns only those levels",
      async run() {
        const level = all.find((e) => e.level)?.level;
        if (!level) return;
        const page = await search({ ...base, levels: [level] });
        checkPage(page, base, `search(levels=[${level}])`);
        expect(page.entries.length > 0, `no entries for level "${level}", which the window has`);
        const wrong = page.entries.filter((e) => e.level?.toLowerCase() !== level.toLowerCase());
        expect(wrong.length === 0, `levels=[${level}] returned levels ${wrong.map((e) => e.level).join(", ")}`);
      },
    },
    {
      name: "search() refuses an unknown filter operator with invalid_input",
      async run() {
        const filters = [{ field: "message", op: "no-such-op", value: "x" }];
        await expectKind(search({ ...base, filters } as unknown as LogQuery), "invalid_input", "filter op no-such-op");
      },
    },
    {
      name: "schema() returns named, labelled, typed fields when implemented",
      async run() {
        let fields: LogField[];
        try {
          fields = await runner.call<LogField[]>("schema", [ctx]);
        } catch (error) {
          if ((error as { kind?: string }).kind === "not_implemented") return;
          throw error;
        }
        shaped(() => parseLogFields(fields), "schema()");
      },
    },
    {
      name: "histogram() buckets count every entry of the window when hints.supports_histogram",
      async run() {
        if (manifest.hints?.supports_histogram !== true) return;
        const buckets = await runner.call<HistogramBucket[]>("histogram", [ctx, base, 10]);
        shaped(() => parseHistogram(buckets), "histogram()");
        expect(buckets.length > 0, "histogram must return buckets");
        buckets.forEach((b, i) => {
          expect(isIsoDate(b.timestamp), `histogram()[${i}].timestamp must be ISO 8601`);
          expect(Number.isInteger(b.count), `histogram()[${i}].count must be a count`);
          expect(b.levels !== undefined && b.levels !== null, `histogram()[${i}].levels must be an object`);
        });
        const total = buckets.reduce((sum, b) => sum + b.count, 0);
        expect(
          truncated ? total >= all.length : total === all.length,
          `histogram counts ${total} entries, search found ${all.length}${truncated ? " or more" : ""}`,
        );
      },
    },
    connectionCheck(runner, ctx),
    ...rejectedCheck(options.rejectedCredentials, ctx, "search"),
  ];
}

function checksFor(runner: HandlerRunner, options: ConformanceOptions): Check[] {
  return runner.manifest.plugin_type === "logs"
    ? logsChecks(runner, options as LogsConformanceOptions)
    : configurationChecks(runner, options as ConfigurationConformanceOptions);
}

/**
 * Runs the suite of the handler's plugin type and reports every check.
 *
 * @param runner The handler to check.
 * @param options The context (and, for logs, the seeded window).
 * @returns One result per check, in order.
 */
export async function checkConformance(runner: HandlerRunner, options: ConformanceOptions): Promise<ConformanceReport> {
  const results: CheckResult[] = [];
  for (const check of checksFor(runner, options)) {
    try {
      await check.run();
      results.push({ name: check.name, ok: true });
    } catch (error) {
      results.push({ name: check.name, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return {
    slug: runner.manifest.slug,
    plugin_type: runner.manifest.plugin_type,
    results,
    ok: results.every((r) => r.ok),
  };
}

/**
 * Runs the suite as `t.step`s of a `Deno.test`, one step per check.
 *
 * @param t The test context.
 * @param runner The handler to check.
 * @param options The context (and, for logs, the seeded window).
 */
export async function conformanceSteps(
  t: Deno.TestContext,
  runner: HandlerRunner,
  options: ConformanceOptions,
): Promise<void> {
  for (const check of checksFor(runner, options)) {
    await t.step(check.name, () => check.run());
  }
}
