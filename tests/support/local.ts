/**
 * Small helpers the test services and benchmarks share.
 *
 * @module
 */

import { type CommandResult, runCommand } from "./command.ts";

/**
 * A registry URL nothing answers at (the discard port), for tests that must
 * not reach a real registry.
 */
export const CLOSED = "http://127.0.0.1:9/";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).
 *
 * @returns The port number.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Whether a path exists.
 *
 * @param path A file or directory.
 * @returns True when `stat` succeeds.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** What a finished CLI process printed. */
export type CliOutput = Pick<CommandResult, "code" | "stdout" | "stderr">;

/**
 * Runs one of the repository's CLI scripts as `deno task` would (the serve
 * permissions), with colour off, and collects its output.
 *
 * @param script Absolute path of the script.
 * @param args Its arguments.
 * @param options The environment it gets, and its working directory.
 * @returns Exit code, stdout and stderr.
 */
export function runCli(
  script: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string },
): Promise<CliOutput> {
  const flags = ["--allow-net", "--allow-read", "--allow-write", "--allow-env", "--allow-run"];
  return runCommand("deno", ["run", ...flags, "--allow-sys=hostname,osRelease", script, ...args], options);
}
