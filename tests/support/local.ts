/**
 * Small helpers the test services and benchmarks share.
 *
 * @module
 */

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
export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of the repository's CLI scripts as `deno task` would (the serve
 * permissions), with colour off, and collects its output.
 *
 * @param script Absolute path of the script.
 * @param args Its arguments.
 * @param options The environment it gets, and its working directory.
 * @returns Exit code, stdout and stderr.
 */
export async function runCli(
  script: string,
  args: string[],
  options: { env: Record<string, string>; cwd: string },
): Promise<CliOutput> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-sys=hostname,osRelease",
      script,
      ...args,
    ],
    cwd: options.cwd,
    env: { ...options.env, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
