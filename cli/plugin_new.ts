// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugin:new <name> --type configuration|logs [--dir <path>] [--sdk <specifier-or-path>] [--force]`:
 * scaffolds a plugin package that passes its own `deno task test` and
 * `deno task check` as it is, wherever it is put.
 *
 * The package has a `deno.json` (name `@imbi/plugin-<name>`, version 1.0.0,
 * exports `./mod.ts`, an import map for the SDK and the test kit, and the
 * tasks `test`, `check` and `publish`), a `mod.ts` exporting `plugins` with
 * one working handler that needs no backend (a renamed copy of the
 * first-party demo plugin of that type: `plugins/demo-config` keeps
 * configuration in memory, `plugins/demo-logs` generates log entries), a
 * `mod_test.ts` that runs the conformance suite in process, and a README.
 *
 * `--sdk` says where `@imbi/plugin-sdk` comes from:
 * - a path (default: this checkout's `plugins/sdk`): the import map points
 *   at its files, and `check`/`publish` run this checkout's
 *   `plugins/testing` (for working inside, or next to, an Imbi checkout);
 * - `npm:@imbi/plugin-sdk@<range>` (e.g. `npm:@imbi/plugin-sdk@^1`, published
 *   to your registry by `deno task plugins:publish`): the import map and the
 *   tasks use `npm:@imbi/plugin-sdk@<range>` and
 *   `npm:@imbi/plugin-testing@<range>`, so the folder needs no checkout.
 *
 * A directory that exists and is not empty is refused unless `--force`.
 *
 * @module
 */

import { dirname, relative, resolve } from "node:path";
import { flags, parseCommand } from "./_args.ts";

/** What to scaffold. */
export interface ScaffoldOptions {
  /** Plugin name: the slug and the package suffix, `^[a-z][a-z0-9-]{1,40}$`. */
  name: string;
  /** The plugin type, which picks the demo plugin the handler is copied from. */
  type: "configuration" | "logs";
  /** Target directory (must not exist or be empty, unless `force`). */
  dir: string;
  /** `npm:@imbi/plugin-sdk@<range>`, `jsr:@imbi/plugin-sdk@<range>`, or the path of an Imbi checkout's `plugins/sdk`. */
  sdk: string;
  /** Write into a non-empty directory, replacing the scaffold's files. */
  force?: boolean;
}

/** This checkout's SDK: the default of `--sdk`. */
export const LOCAL_SDK: string = decodeURIComponent(new URL("../plugins/sdk", import.meta.url).pathname);

/** Permissions of the `check` and `publish` tasks: they bundle, run plugin processes and reach the registry. */
const TOOL_PERMISSIONS =
  "--allow-read --allow-write --allow-env --allow-run --allow-net --allow-sys=hostname,osRelease";

const NAME = /^[a-z][a-z0-9-]{1,40}$/;

function className(name: string, type: ScaffoldOptions["type"]): string {
  const base = name.split("-").map((p) => p[0]!.toUpperCase() + p.slice(1)).join("");
  return `${base}${type === "logs" ? "Logs" : "Configuration"}`;
}

/** The first-party demo plugin each type's scaffold is copied from. */
const TEMPLATES: Record<ScaffoldOptions["type"], URL> = {
  configuration: new URL("../plugins/demo-config/mod.ts", import.meta.url),
  logs: new URL("../plugins/demo-logs/mod.ts", import.meta.url),
};

function header(name: string, type: ScaffoldOptions["type"]): string {
  const what = type === "logs"
    ? `It generates one entry every \`interval_seconds\` of any window, levels
 * rotating; replace \`#fetchEntries\` with a call to your backend`
    : `It keeps values in the plugin process's memory, one namespace per rendered
 * search_template; replace \`#space\` and its Map with calls to your backend`;
  return `/**
 * \`${name}\`: an Imbi ${type} plugin, scaffolded by \`deno task plugin:new\`
 * from Imbi's demo plugin of that type.
 *
 * ${what}
 * (through \`fetch\`, to the hosts in \`network.hosts\` only), and keep the
 * protocol's rules: the conformance suite in \`mod_test.ts\` checks them.
 *
 * @module
 */
`;
}

/** Replaces the one match of `pattern`; a template without exactly one match has changed shape. */
function replaceOnce(source: string, pattern: RegExp, replacement: string): string {
  const global = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : `${pattern.flags}g`);
  const count = source.match(global)?.length ?? 0;
  if (count !== 1) throw new Error(`The scaffold template has ${count} matches of ${pattern}, expected one`);
  return source.replace(pattern, () => replacement);
}

/**
 * The demo plugin's module, renamed: its header, class name, slug, name and
 * description become the new plugin's.
 */
function pluginModule(template: string, name: string, type: ScaffoldOptions["type"]): string {
  const demoClass = /^export const plugins = \[(\w+)\];$/m.exec(template)?.[1];
  if (!demoClass) throw new Error("The scaffold template does not export one plugin class");
  let source = replaceOnce(template, /^\/\*\*\n[\s\S]*?\*\/\n/, header(name, type));
  source = source.replace(new RegExp(`\\b${demoClass}\\b`, "g"), className(name, type));
  source = replaceOnce(source, /^ {4}slug: ".*",$/m, `    slug: "${name}",`);
  source = replaceOnce(source, /^ {4}name: ".*",$/m, `    name: "${name}",`);
  return replaceOnce(
    source,
    /^ {4}description: ".*",$/m,
    `    description: "${type === "logs" ? "Logs" : "Configuration"} for Imbi projects",`,
  );
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

/** The import map and tasks that make the package work with the SDK `sdk`. */
async function sdkSetup(
  dir: string,
  sdk: string,
): Promise<{ imports: Record<string, string>; tasks: Record<string, string> }> {
  const registry = /^(npm|jsr):@imbi\/plugin-sdk@(.+)$/.exec(sdk);
  if (registry) {
    const [, kind, range] = registry;
    const testing = `${kind}:@imbi/plugin-testing@${range}`;
    return {
      imports: {
        "@imbi/plugin-sdk": sdk,
        "@imbi/plugin-sdk/testing": `${sdk}/testing`,
        "@imbi/plugin-testing": testing,
      },
      tasks: {
        check: `deno run ${TOOL_PERMISSIONS} ${testing}/check .`,
        publish: `deno run ${TOOL_PERMISSIONS} ${testing}/publish .`,
      },
    };
  }
  if (/^[a-z]+:/.test(sdk)) {
    throw new RangeError(
      `--sdk "${sdk}" is neither npm:@imbi/plugin-sdk@<range>, jsr:@imbi/plugin-sdk@<range> nor a path`,
    );
  }
  const sdkDir = resolve(sdk);
  const checkout = dirname(dirname(sdkDir));
  const found = await Promise.all(
    [`${sdkDir}/mod.ts`, `${checkout}/plugins/testing/check.ts`].map((f) => Deno.stat(f).then(() => true, () => false)),
  );
  if (!found.every(Boolean)) {
    throw new RangeError(`--sdk ${sdk} is not the plugins/sdk directory of an Imbi checkout`);
  }
  const rel = (path: string) => {
    const r = relative(resolve(dir), path).replaceAll("\\", "/");
    return r.startsWith(".") ? r : `./${r}`;
  };
  // The test kit is this checkout's host code: it runs with the checkout's configuration (its npm dependencies).
  const tool = (name: string) =>
    `deno run ${TOOL_PERMISSIONS} --config=${rel(`${checkout}/deno.json`)} ${
      rel(`${checkout}/plugins/testing/${name}.ts`)
    } .`;
  return {
    imports: {
      "@imbi/plugin-sdk": rel(`${sdkDir}/mod.ts`),
      "@imbi/plugin-sdk/testing": rel(`${sdkDir}/testing.ts`),
      "@imbi/plugin-testing": rel(`${checkout}/plugins/testing/mod.ts`),
    },
    tasks: { check: tool("check"), publish: tool("publish") },
  };
}

function readme(name: string, type: ScaffoldOptions["type"]): string {
  return `# @imbi/plugin-${name}

An Imbi ${type} plugin (plugin API 1.x), scaffolded by \`deno task plugin:new\`.

- \`mod.ts\` exports \`plugins\`: the handler class(es), each with a static \`manifest\`.
- \`deno task test\` runs the conformance suite in process.
- \`deno task check\` runs it in the real sandbox (a plugin process with the
  service's flags: only the manifest's \`network.hosts\` reachable).
- \`deno task publish --registry <url>\` builds the npm package and publishes
  it (token from \`NPM_TOKEN\`); an Imbi operator then installs
  \`npm:@imbi/plugin-${name}@^1\`.

Read docs/plugin-authors.md in the Imbi repository before you replace the
scaffold's in-memory logic with calls to your backend.
`;
}

async function isEmpty(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return true;
}

/**
 * Writes the package files.
 *
 * @param options What to scaffold, where, with which SDK.
 * @returns The paths written.
 * @throws {RangeError} When the name is not a slug, the SDK is neither a registry specifier nor a checkout's
 *   `plugins/sdk`, or the directory is not empty and `force` is not set.
 */
export async function scaffold(options: ScaffoldOptions): Promise<string[]> {
  if (!NAME.test(options.name)) throw new RangeError(`"${options.name}" must match ${NAME.source}`);
  if (!options.force && !await isEmpty(options.dir)) {
    throw new RangeError(
      `${options.dir} is not empty: give another --dir, empty it, or pass --force to write the scaffold's files into it`,
    );
  }
  const { imports, tasks } = await sdkSetup(options.dir, options.sdk);
  await Deno.mkdir(options.dir, { recursive: true });
  const cls = className(options.name, options.type);
  const files: Record<string, string> = {
    "deno.json": JSON.stringify(
      {
        name: `@imbi/plugin-${options.name}`,
        version: "1.0.0",
        license: "UNLICENSED",
        exports: "./mod.ts",
        imports,
        tasks: { test: "deno test", ...tasks },
      },
      null,
      2,
    ) + "\n",
    "mod.ts": pluginModule(await (await fetch(TEMPLATES[options.type])).text(), options.name, options.type),
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

const USAGE =
  `usage: deno task plugin:new <name> --type configuration|logs [--dir <path>] [--sdk <specifier-or-path>] [--force]

Scaffolds a plugin package whose own "deno task test" and "deno task check" pass.

  <name>                  the plugin slug and package suffix: ${NAME.source}
  --type <type>           configuration or logs
  --dir <path>            where (default: plugins/<name>)
  --sdk <specifier|path>  npm:@imbi/plugin-sdk@^1 (the SDK on your registry: no Imbi checkout needed),
                          or an Imbi checkout's plugins/sdk (default: this checkout's)
  --force                 write into a directory that is not empty
  -h, --help              this text`;

if (import.meta.main) {
  const { values, positionals } = parseCommand(Deno.args, {
    name: "plugin:new",
    usage: USAGE,
    options: flags(["type", "dir", "sdk"], ["force"]),
    positionals: { min: 1, max: 1 },
  });
  const name = positionals[0]!;
  if (values.type !== "configuration" && values.type !== "logs") {
    console.error("plugin:new: --type must be configuration or logs (see --help)");
    Deno.exit(2);
  }
  const dir = values.dir ?? `plugins/${name}`;
  try {
    const written = await scaffold({
      name,
      type: values.type,
      dir,
      sdk: values.sdk ?? LOCAL_SDK,
      force: values.force ?? false,
    });
    for (const path of written) console.log(`created ${path}`);
    console.log(`\nnext: cd ${dir} && deno task test && deno task check`);
    if (resolve(dir).startsWith(dirname(dirname(LOCAL_SDK)) + "/")) {
      console.log('inside the Imbi repository, add the directory to the root deno.json "workspace" list.');
    }
  } catch (error) {
    console.error(`plugin:new: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(error instanceof RangeError ? 2 : 1);
  }
}
