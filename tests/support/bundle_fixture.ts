/**
 * Turns fixture plugin sources into single-file ESM bundles with `deno
 * bundle`, exactly the shape the sandbox loads, in a fresh temporary
 * directory. Tests call it once at start and remove the directory at the end.
 *
 * @example
 * ```ts
 * await using bundles = await bundleFixtures(new URL("../fixtures/sandbox/", import.meta.url), ["good", "hostile"]);
 * const spec = { bundlePath: bundles.path("good"), ... };
 * ```
 *
 * @module
 */

/** Bundles in a temporary directory; `await using` removes it. */
export interface BundledFixtures extends AsyncDisposable {
  /** The temporary directory holding the bundles. */
  readonly dir: string;
  /**
   * Absolute path of one bundle.
   *
   * @param name The fixture's file name without `.ts`.
   * @throws {RangeError} When that fixture was not bundled.
   */
  path(name: string): string;
}

/** Repository root: `deno bundle` runs here so the workspace (the SDK) resolves. */
const ROOT = new URL("../../", import.meta.url);

/**
 * Bundles fixture sources, one self-contained `.js` file each.
 *
 * @param folder The folder of the sources, a `file:` URL ending in `/`.
 * @param names File names without `.ts`.
 * @returns The bundles and a disposer that removes them.
 * @throws {Error} When `deno bundle` fails; its output is in the message.
 */
export async function bundleFixtures(folder: URL, names: string[]): Promise<BundledFixtures> {
  const dir = await Deno.makeTempDir({ prefix: "imbi_bundles_" });
  const paths = new Map<string, string>();
  try {
    const sources = names.map((name) => decodeURIComponent(new URL(`${name}.ts`, folder).pathname));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "--outdir", dir, ...sources],
      cwd: decodeURIComponent(ROOT.pathname),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`deno bundle failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    for (const name of names) {
      const path = `${dir}/${name}.js`;
      await Deno.stat(path);
      paths.set(name, path);
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return {
    dir,
    path(name: string): string {
      const path = paths.get(name);
      if (path === undefined) throw new RangeError(`fixture "${name}" was not bundled`);
      return path;
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Bundles one entry module into a given file.
 *
 * @param entry The module to bundle (a path or `file:` URL).
 * @param outFile Where to write the bundle.
 * @returns `outFile`.
 * @throws {Error} When `deno bundle` fails.
 */
export async function bundleFixture(entry: string | URL, outFile: string): Promise<string> {
  const source = entry instanceof URL ? decodeURIComponent(entry.pathname) : entry;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "--output", outFile, source],
    cwd: decodeURIComponent(ROOT.pathname),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(output.stderr)}`);
  return outFile;
}
