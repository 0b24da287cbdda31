// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugin:new <name> --type configuration|logs [--dir <path>] [--sdk <specifier>] [--sdk-path <dir>]`:
 * scaffolds a plugin package that passes `deno task plugin:check` as it is.
 *
 * The package has a `deno.json` (name `@imbi/plugin-<name>`, version 1.0.0,
 * exports `./mod.ts`, an import map for the SDK), a `mod.ts` exporting
 * `plugins` with one working handler that needs no backend (in-memory
 * configuration, or generated log entries), a `mod_test.ts` that runs the
 * conformance suite, and a README. Replace the handler's insides with calls
 * to your backend and keep the tests green.
 *
 * The SDK comes from `--sdk` (default `npm:@imbi/plugin-sdk@^1.0.0`), or from
 * a local checkout with `--sdk-path plugins/sdk`. Inside the Imbi repository,
 * add the new directory to the root `deno.json` `workspace` list.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { relative, resolve } from "node:path";

/** What to scaffold. */
export interface ScaffoldOptions {
  /** Plugin name: the slug and the package suffix, `^[a-z][a-z0-9-]{1,40}$`. */
  name: string;
  type: "configuration" | "logs";
  /** Target directory (must not exist or be empty). */
  dir: string;
  /** Import-map targets for `@imbi/plugin-sdk` and `@imbi/plugin-sdk/testing`. */
  sdk: { main: string; testing: string };
}

const NAME = /^[a-z][a-z0-9-]{1,40}$/;

function className(name: string, type: ScaffoldOptions["type"]): string {
  const base = name.split("-").map((p) => p[0]!.toUpperCase() + p.slice(1)).join("");
  return `${base}${type === "logs" ? "Logs" : "Configuration"}`;
}

function configurationModule(name: string, cls: string): string {
  return `/**
 * \`${name}\`: an Imbi configuration plugin. This scaffold keeps values in the
 * plugin process's memory, one namespace per rendered search_template;
 * replace the Map with calls to your backend (through \`fetch\`, to the
 * hosts in \`network.hosts\` only).
 *
 * @module
 */

import {
  type CallContext,
  type ConfigKey,
  type ConfigurationHandler,
  type ConfigValue,
  type HandlerInit,
  InvalidInput,
  type PluginManifest,
} from "@imbi/plugin-sdk";

const DATA_TYPES = [
  { name: "string", label: "String", secret: false },
  { name: "secret", label: "Secret", secret: true },
];

/** Configuration kept in memory (replace with your backend). */
export class ${cls} implements ConfigurationHandler {
  /** The manifest the host reads without running any handler code. */
  static manifest: PluginManifest = {
    slug: "${name}",
    name: "${name}",
    description: "Configuration for Imbi projects",
    plugin_type: "configuration",
    api_version: "^1.0.0",
    options: { type: "object", properties: {}, additionalProperties: false },
    credentials: [],
    network: { hosts: [] },
    data_types: DATA_TYPES,
  };

  #store = new Map<string, Map<string, { value: string; data_type: string; modified: string }>>();

  /** @param _init Options with defaults applied, decrypted credentials, the Plugin node and its service. */
  constructor(_init: HandlerInit) {}

  #space(ctx: CallContext) {
    let space = this.#store.get(ctx.search_template);
    if (!space) this.#store.set(ctx.search_template, space = new Map());
    return space;
  }

  #item(key: string, v: { value: string; data_type: string; modified: string }): ConfigValue {
    const secret = DATA_TYPES.find((t) => t.name === v.data_type)?.secret ?? false;
    return { key, data_type: v.data_type, secret, last_modified: v.modified, value: v.value };
  }

  /** Every key, without values. */
  listKeys(ctx: CallContext): Promise<ConfigKey[]> {
    return this.getValues(ctx).then((items) => items.map(({ value: _value, ...key }) => key));
  }

  /** Values of every key, or of \`keys\`; missing keys are omitted. */
  getValues(ctx: CallContext, keys?: string[]): Promise<ConfigValue[]> {
    const items = [...this.#space(ctx)].map(([key, v]) => this.#item(key, v));
    const wanted = keys ? new Set(keys) : undefined;
    return Promise.resolve(items.filter((i) => !wanted || wanted.has(i.key)).sort((a, b) => (a.key < b.key ? -1 : 1)));
  }

  /** Creates or overwrites a key. */
  setValue(ctx: CallContext, key: string, input: { value: string; data_type: string }): Promise<ConfigKey> {
    const type = DATA_TYPES.find((t) => t.name === input.data_type);
    if (!type) throw new InvalidInput(\`Unknown data_type \${JSON.stringify(input.data_type)}\`);
    if (typeof key !== "string" || key === "") throw new InvalidInput("The key must be a non-empty string");
    this.#space(ctx).set(key, { value: String(input.value), data_type: type.name, modified: new Date().toISOString() });
    return Promise.resolve({ key, data_type: type.name, secret: type.secret });
  }

  /** Deletes a key; deleting a missing key succeeds. */
  deleteKey(ctx: CallContext, key: string): Promise<void> {
    this.#space(ctx).delete(key);
    return Promise.resolve();
  }

  /** Where the keys live. */
  describePrefix(ctx: CallContext): Promise<string | null> {
    return Promise.resolve(\`memory:\${ctx.search_template}\`);
  }
}

/** The entry points of this package. */
export const plugins = [${cls}];
`;
}

function logsModule(name: string, cls: string): string {
  return `/**
 * \`${name}\`: an Imbi logs plugin. This scaffold generates one entry every
 * five minutes of any window (levels rotate); replace \`#fetchEntries\` with
 * a call to your backend (through \`fetch\`, to the hosts in
 * \`network.hosts\` only) and keep the paging and error rules.
 *
 * @module
 */

import {
  type CallContext,
  checkLogQuery,
  decodeCursor,
  encodeCursor,
  type HandlerInit,
  type LogEntry,
  type LogField,
  type LogPage,
  type LogQuery,
  type LogsHandler,
  matchesLogQuery,
  type PluginManifest,
} from "@imbi/plugin-sdk";

const STEP_MS = 5 * 60_000;
const LEVELS = ["info", "warn", "error", "debug"];

/** Logs of a project, newest first (generated here; replace with your backend). */
export class ${cls} implements LogsHandler {
  /** The manifest the host reads without running any handler code. */
  static manifest: PluginManifest = {
    slug: "${name}",
    name: "${name}",
    description: "Logs for Imbi projects",
    plugin_type: "logs",
    api_version: "^1.0.0",
    options: { type: "object", properties: {}, additionalProperties: false },
    credentials: [],
    network: { hosts: [] },
    hints: { supports_histogram: false },
  };

  /** @param _init Options with defaults applied, decrypted credentials, the Plugin node and its service. */
  constructor(_init: HandlerInit) {}

  /** Every entry of the window up to \`beforeMs\`, newest first (at most 5000). */
  #fetchEntries(ctx: CallContext, startMs: number, beforeMs: number): LogEntry[] {
    const out: LogEntry[] = [];
    for (let t = Math.floor(beforeMs / STEP_MS) * STEP_MS; t >= startMs && out.length < 5000; t -= STEP_MS) {
      const n = t / STEP_MS;
      out.push({
        timestamp: new Date(t).toISOString(),
        level: LEVELS[n % LEVELS.length],
        message: \`sample event \${n} of \${ctx.search_template}\`,
        fields: { sequence: n },
      });
    }
    return out;
  }

  /** One page of matching entries, newest first; the cursor is the boundary timestamp. */
  search(ctx: CallContext, query: LogQuery): Promise<LogPage> {
    const { startMs, endMs } = checkLogQuery(query);
    const scope = ctx.search_template;
    const before = query.cursor ? decodeCursor<number>(query.cursor, query, { scope }) - 1 : endMs;
    const matching = this.#fetchEntries(ctx, startMs, before).filter((e) => matchesLogQuery(e, query));
    const entries = matching.slice(0, query.limit);
    const page: LogPage = { entries, warnings: [] };
    if (matching.length > query.limit) {
      page.next_cursor = encodeCursor(query, Date.parse(entries.at(-1)!.timestamp), { scope });
    }
    return Promise.resolve(page);
  }

  /** The fields entries carry. */
  schema(_ctx: CallContext): Promise<LogField[]> {
    return Promise.resolve([
      { name: "timestamp", label: "Time", type: "datetime" },
      { name: "level", label: "Level", type: "keyword" },
      { name: "message", label: "Message", type: "text" },
      { name: "sequence", label: "Sequence", type: "number" },
    ]);
  }
}

/** The entry points of this package. */
export const plugins = [${cls}];
`;
}

function testModule(name: string, cls: string, type: ScaffoldOptions["type"]): string {
  const suite = type === "logs"
    ? `{
    ctx: testContext("my-project"),
    query: { start: "2024-01-01T00:00:00.000Z", end: "2024-01-01T01:00:00.000Z" },
  }`
    : `{ ctx: testContext("/my-project") }`;
  return `import { conformanceSteps, inProcess, testContext } from "@imbi/plugin-sdk/testing";
import { ${cls} } from "./mod.ts";

Deno.test("${name} keeps the ${type} protocol", async (t) => {
  const runner = inProcess(${cls}, { options: {} });
  await conformanceSteps(t, runner, ${suite});
});
`;
}

function readme(name: string, type: ScaffoldOptions["type"]): string {
  return `# @imbi/plugin-${name}

An Imbi ${type} plugin (plugin API 1.x), scaffolded by \`deno task plugin:new\`.

- \`mod.ts\` exports \`plugins\`: the handler class(es), each with a static \`manifest\`.
- \`deno test\` runs the conformance suite in process.
- \`deno task plugin:check <this directory>\` (in an Imbi checkout) runs it
  inside the real sandbox, with only the manifest's \`network.hosts\` reachable.

Read docs/plugin-authors.md in the Imbi repository before you replace the
scaffold's in-memory logic with calls to your backend.
`;
}

/**
 * Writes the package files.
 *
 * @param options What to scaffold.
 * @returns The paths written.
 * @throws {RangeError} When the name is not a slug or the directory is not empty.
 */
export async function scaffold(options: ScaffoldOptions): Promise<string[]> {
  if (!NAME.test(options.name)) throw new RangeError(`"${options.name}" must match ${NAME.source}`);
  try {
    for await (const _ of Deno.readDir(options.dir)) throw new RangeError(`${options.dir} is not empty`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(options.dir, { recursive: true });
  const cls = className(options.name, options.type);
  const files: Record<string, string> = {
    "deno.json": JSON.stringify(
      {
        name: `@imbi/plugin-${options.name}`,
        version: "1.0.0",
        exports: "./mod.ts",
        imports: { "@imbi/plugin-sdk": options.sdk.main, "@imbi/plugin-sdk/testing": options.sdk.testing },
      },
      null,
      2,
    ) + "\n",
    "mod.ts": options.type === "logs" ? logsModule(options.name, cls) : configurationModule(options.name, cls),
    "mod_test.ts": testModule(options.name, cls, options.type),
    "README.md": readme(options.name, options.type),
  };
  const written: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${options.dir}/${file}`, text);
    written.push(`${options.dir}/${file}`);
  }
  return written;
}

function sdkTargets(dir: string, sdk: string | undefined, sdkPath: string | undefined): ScaffoldOptions["sdk"] {
  if (sdkPath) {
    const rel = relative(resolve(dir), resolve(sdkPath)).replaceAll("\\", "/");
    const base = rel.startsWith(".") ? rel : `./${rel}`;
    return { main: `${base}/mod.ts`, testing: `${base}/testing.ts` };
  }
  const main = sdk ?? "npm:@imbi/plugin-sdk@^1.0.0";
  return { main, testing: `${main}/testing` };
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      type: { type: "string" },
      dir: { type: "string" },
      sdk: { type: "string" },
      "sdk-path": { type: "string" },
    },
  });
  const name = positionals[0];
  if (!name || (values.type !== "configuration" && values.type !== "logs")) {
    console.error("usage: deno task plugin:new <name> --type configuration|logs [--dir <path>] [--sdk-path <sdk dir>]");
    Deno.exit(2);
  }
  const dir = values.dir ?? `plugins/${name}`;
  try {
    const written = await scaffold({
      name,
      type: values.type,
      dir,
      sdk: sdkTargets(dir, values.sdk, values["sdk-path"]),
    });
    for (const path of written) console.log(`created ${path}`);
    console.log(`\nnext: deno test ${dir}  and  deno task plugin:check ${dir}`);
    console.log('inside the Imbi repository, add the directory to the root deno.json "workspace" list.');
  } catch (error) {
    console.error(`plugin:new: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(1);
  }
}
