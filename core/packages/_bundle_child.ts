/**
 * The bundler's program. `bundle.ts` runs it as
 * `deno run --unstable-bundle --allow-read=<package>,<cache> --allow-write=<out> _bundle_child.ts <entry> <out>`
 * with a cleared environment, so Deno's bundler reads only what those
 * permissions grant: an import of `/etc/passwd`, of `/proc/self/environ` or
 * of a file out of the package fails here even if the module-graph check
 * missed it (an npm dependency's own imports are not in that graph). It
 * imports nothing and prints one JSON line: `{ success, errors }`.
 *
 * @module
 */

interface BundleMessage {
  text: string;
  location?: { file: string; line: number; column: number } | null;
}

/** `Deno.bundle`, unstable: typed here so the project's type check needs no `--unstable-bundle`. */
interface Bundler {
  bundle(options: {
    entrypoints: string[];
    outputPath: string;
    platform: "deno";
    format: "esm";
    write: true;
  }): Promise<{ success: boolean; errors: BundleMessage[] }>;
}

const [entry, out] = Deno.args;
const result = await (Deno as unknown as Bundler).bundle({
  entrypoints: [entry!],
  outputPath: out!,
  platform: "deno",
  format: "esm",
  write: true,
});
const errors = result.errors.map((e) => e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text);
await Deno.stdout.write(new TextEncoder().encode(JSON.stringify({ success: result.success, errors }) + "\n"));
