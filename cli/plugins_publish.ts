// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task plugins:publish --registry <url> [--token <token>] [--only sdk,aws] [--out <dir>] [--dry-run]`:
 * publishes the SDK, the plugin test kit and the first-party plugins as npm
 * packages, each built by `buildPackage` (`plugins/testing/pack.ts`, the same
 * builder a plugin author's `deno task publish` runs).
 *
 * - `@imbi/plugin-sdk`: every export one ES module, shared code in chunks
 *   (one `PluginError` class for all subpaths), `.d.ts` for each; no dependencies.
 * - `@imbi/plugin-testing`: the service's own sandbox and package store
 *   (`core/sandbox/`, `core/packages/`), bundled from this checkout, and the
 *   plugin-process program `bootstrap.js` bundled from `core/sandbox/bootstrap.ts`, the answer worker
 *   `answer_worker.js` from `core/sandbox/answer_worker.ts`,
 *   and the bundler program `bundle_child.js` from `core/packages/_bundle_child.ts`
 *   beside them; it depends on `@imbi/plugin-sdk` (not inlined, so the
 *   runner's errors and the author's SDK are the same classes).
 * - First-party plugins (`@imbi/plugin-aws`, ...): one self-contained module
 *   with the SDK and npm dependencies inlined, so that installing one needs
 *   nothing else from the operator's registry and the minimum-age policy
 *   applies to one package, not a chain. Their `.d.ts` import the SDK's types,
 *   declared as an optional peer dependency.
 *
 * Packages are published in that order (SDK first). The token comes from
 * `--token` or `NPM_TOKEN`; npm is given a temporary userconfig, never `~/.npmrc`.
 *
 * @module
 */

import { flags, parseCommand } from "./_args.ts";
import { buildPackage, type BuiltPackage, type PackOptions, publishPackage } from "../plugins/testing/pack.ts";

/** The packages this repository publishes, by directory under `plugins/`, in publishing order. */
export const FIRST_PARTY = ["sdk", "testing", "aws", "etcd", "logzio", "github"] as const;

const ROOT = decodeURIComponent(new URL("../", import.meta.url).pathname);
const REPOSITORY = "git+https://github.com/AWeber-Imbi/imbi.git";

/**
 * The npm range the other packages give for the SDK: the SDK's major, which
 * is the plugin API's major (see plugins/sdk/README.md, "Versions").
 */
async function sdkRange(): Promise<string> {
  const { version } = JSON.parse(await Deno.readTextFile(`${ROOT}plugins/sdk/deno.json`));
  return `^${String(version).split(".")[0]}.0.0`;
}

/**
 * Builds one first-party package with its options.
 *
 * @param name The directory under `plugins/` (`"sdk"`, `"testing"`, `"aws"`, ...).
 * @param outDir Where to build.
 * @param options `version` replaces the deno.json version (release candidates, tests).
 * @returns The npm name, version and directory.
 * @throws {Error} When the build fails.
 */
export async function buildFirstParty(
  name: (typeof FIRST_PARTY)[number],
  outDir: string,
  options: { version?: string } = {},
): Promise<BuiltPackage> {
  const sdk = { "@imbi/plugin-sdk": await sdkRange() };
  const common: PackOptions = {
    ...options,
    cwd: ROOT,
    licenseFile: `${ROOT}plugins/sdk/LICENSE`,
    license: "BSD-3-Clause",
    repository: { type: "git", url: REPOSITORY, directory: `plugins/${name}` },
  };
  const specific: Record<string, PackOptions> = {
    sdk: { description: "The Imbi plugin SDK: manifest and protocol types, typed errors, helpers, conformance suite" },
    testing: {
      description: "Run an Imbi plugin in the service's sandbox: runInSandbox, checkPlugin, and the check command",
      external: sdk,
      extraBundles: {
        "bootstrap.js": `${ROOT}core/sandbox/bootstrap.ts`,
        "answer_worker.js": `${ROOT}core/sandbox/answer_worker.ts`,
        "bundle_child.js": `${ROOT}core/packages/_bundle_child.ts`,
      },
    },
  };
  return await buildPackage(`${ROOT}plugins/${name}`, outDir, {
    ...common,
    ...(specific[name] ?? { plugin: true, typePeers: sdk }),
  });
}

const USAGE =
  `usage: deno task plugins:publish --registry <url> [--token <t>] [--only sdk,aws] [--out <dir>] [--dry-run]

Builds and publishes the npm packages of this repository, in this order:
${FIRST_PARTY.map((n) => `plugins/${n}`).join(", ")}.

  --registry <url>  the npm registry to publish to (required)
  --token <t>       its auth token (default: NPM_TOKEN; anonymous without)
  --only <list>     comma-separated directory names under plugins/
  --out <dir>       keep the built packages there (default: a temporary directory)
  --dry-run         build and run npm publish --dry-run
  -h, --help        this text`;

if (import.meta.main) {
  const { values } = parseCommand(Deno.args, {
    name: "plugins:publish",
    usage: USAGE,
    options: flags(["registry", "token", "only", "out"], ["dry-run"]),
  });
  if (!values.registry) {
    console.error("plugins:publish: --registry <url> is required (see --help)");
    Deno.exit(2);
  }
  const names = values.only ? values.only.split(",").map((s) => s.trim()) : [...FIRST_PARTY];
  const unknown = names.filter((n) => !(FIRST_PARTY as readonly string[]).includes(n));
  if (unknown.length) {
    console.error(`plugins:publish: unknown package ${unknown.join(", ")} (known: ${FIRST_PARTY.join(", ")})`);
    Deno.exit(2);
  }
  const out = values.out ?? await Deno.makeTempDir({ prefix: "imbi_npm_build_" });
  const token = values.token ?? Deno.env.get("NPM_TOKEN");
  let failed = 0;
  for (const name of names as (typeof FIRST_PARTY)[number][]) {
    try {
      const built = await buildFirstParty(name, `${out}/${name}`);
      await publishPackage(built, values.registry, { ...(token ? { token } : {}), dryRun: values["dry-run"] ?? false });
      console.log(`${values["dry-run"] ? "would publish" : "published"} ${built.name}@${built.version}`);
    } catch (error) {
      failed++;
      console.error(`plugins:publish: ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (!values.out) await Deno.remove(out, { recursive: true });
  Deno.exit(failed > 0 ? 1 : 0);
}
