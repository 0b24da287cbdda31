// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugin:new <name> --type configuration|logs [--dir <path>] [--sdk <specifier>] [--sdk-path <dir>]`:
 * scaffolds a plugin package that passes `deno task plugin:check` as it is.
 *
 * The package has a `deno.json` (name `@imbi/plugin-<name>`, version 1.0.0,
 * exports `./mod.ts`, an import map for the SDK), a `mod.ts` exporting
 * `plugins` with one working handler that needs no backend (a renamed copy
 * of the first-party demo plugin of that type: `plugins/demo-config` keeps
 * configuration in memory, `plugins/demo-logs` generates log entries), a
 * `mod_test.ts` that runs the conformance suite, and a README. Replace the
 * handler's insides with calls to your backend and keep the tests green.
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
