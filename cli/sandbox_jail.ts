// deno-lint-ignore-file no-console -- a CLI entry point: its output is the user interface.
/**
 * `deno task sandbox:jail [output path]`: compiles the `imbi-jail` wrapper
 * (`core/sandbox/jail/imbi-jail.c`) that confines plugin processes, with the
 * C compiler `CC` names (default `cc`), into `.cache/imbi-jail` (where the
 * service looks when `IMBI_JAIL_PATH` is unset). Skipped when the binary is
 * newer than its source. The container image builds it in a build stage
 * instead (`Dockerfile`).
 *
 * @module
 */

import { DEFAULT_JAIL_PATH } from "../core/sandbox/confine.ts";
import { parseCommand } from "./_args.ts";

const USAGE = `usage: deno task sandbox:jail [output path]

Compiles imbi-jail, the wrapper that confines plugin processes (cgroup caps, seccomp without listen/bind, PDEATHSIG),
with the C compiler CC names (default cc), into the given path (default ${DEFAULT_JAIL_PATH}, where the service looks
when IMBI_JAIL_PATH is unset). Skipped when the binary is newer than its source.`;

const SOURCE = new URL("../core/sandbox/jail/imbi-jail.c", import.meta.url);

/**
 * Compiles the jail unless an up-to-date binary is already there.
 *
 * @param output The binary's path (default `.cache/imbi-jail`).
 * @param options `cc`: the compiler (default `CC`, else `cc`).
 * @returns The binary's path and whether it was compiled now.
 * @throws {Error} With the compiler's output when compilation fails.
 */
export async function buildJail(
  output: string = DEFAULT_JAIL_PATH!,
  options: { cc?: string } = {},
): Promise<{ path: string; built: boolean }> {
  const source = decodeURIComponent(SOURCE.pathname);
  const [from, to] = await Promise.all([Deno.stat(source), Deno.stat(output).catch(() => null)]);
  if (to?.mtime && from.mtime && to.mtime >= from.mtime) return { path: output, built: false };
  await Deno.mkdir(output.slice(0, output.lastIndexOf("/")) || "/", { recursive: true });
  const cc = options.cc ?? Deno.env.get("CC") ?? "cc";
  const temporary = `${output}.${crypto.randomUUID()}`;
  const result = await new Deno.Command(cc, {
    args: ["-O2", "-Wall", "-Wextra", "-Werror", "-o", temporary, source],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    await Deno.remove(temporary).catch(() => {});
    throw new Error(`Cannot build imbi-jail with ${cc}: ${new TextDecoder().decode(result.stderr).trim()}`);
  }
  await Deno.rename(temporary, output);
  return { path: output, built: true };
}

if (import.meta.main) {
  try {
    const { positionals } = parseCommand(Deno.args, {
      name: "sandbox:jail",
      usage: USAGE,
      options: {},
      positionals: { min: 0, max: 1 },
    });
    const { path, built } = await buildJail(positionals[0] ?? DEFAULT_JAIL_PATH!);
    console.log(built ? `built ${path}` : `${path} is up to date`);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
