// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `publish [dir] --registry <url> [--token <t>] [--out <dir>] [--dry-run]`:
 * builds a plugin package (default: the working directory) into an npm
 * package and publishes it; a plugin's own `deno task publish`. The build
 * is the one `deno task plugins:publish` gives the first-party plugins
 * (`pack.ts`): one self-contained ES module with the SDK and npm
 * dependencies inlined (installing it needs nothing else from the
 * registry), `.d.ts` types, and a `package.json` listing its entry points.
 *
 * @module
 */

import { flags, parseCommand } from "../../cli/_args.ts";
import { setLogLevel } from "../../core/logger.ts";
import { buildPackage, publishPackage } from "./pack.ts";

const USAGE = `usage: publish [dir] --registry <url> [--token <t>] [--out <dir>] [--dry-run]

Builds the plugin package in dir (default: .) into an npm package and
publishes it with npm.

  --registry <url>  the npm registry (default: NPM_CONFIG_REGISTRY)
  --token <t>       its auth token (default: NPM_TOKEN; anonymous without)
  --out <dir>       keep the built package there (default: a temporary directory)
  --dry-run         build and run npm publish --dry-run
  -h, --help        this text`;

/**
 * Builds and publishes, printing what was published.
 *
 * @param args The command-line arguments.
 * @returns The exit status: 0 published, 1 failed, 2 bad arguments.
 */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    name: "publish",
    usage: USAGE,
    options: flags(["registry", "token", "out"], ["dry-run"]),
    positionals: { min: 0, max: 1 },
  });
  const registry = values.registry ?? Deno.env.get("NPM_CONFIG_REGISTRY");
  if (!registry) {
    console.error("publish: --registry <url> is required when NPM_CONFIG_REGISTRY is not set (see --help)");
    return 2;
  }
  setLogLevel("warn");
  const out = values.out ?? await Deno.makeTempDir({ prefix: "imbi_plugin_pack_" });
  const token = values.token ?? Deno.env.get("NPM_TOKEN");
  try {
    const built = await buildPackage(positionals[0] ?? ".", out, {
      plugin: true,
      typePeers: { "@imbi/plugin-sdk": "^1.0.0" },
    });
    await publishPackage(built, registry, { ...(token ? { token } : {}), dryRun: values["dry-run"] ?? false });
    console.log(`${values["dry-run"] ? "would publish" : "published"} ${built.name}@${built.version} to ${registry}`);
    return 0;
  } catch (error) {
    console.error(`publish: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    if (!values.out) await Deno.remove(out, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
