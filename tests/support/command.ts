/**
 * Runs a command to its end for a test: no input, colour off, output
 * collected.
 *
 * @module
 */

/** What a finished command said. */
export interface CommandResult {
  /** Exit code. */
  code: number;
  /** Exit code 0. */
  ok: boolean;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Both, stdout first: for assertion messages. */
  text: string;
}

/**
 * Runs `command` with `args` and waits for it.
 *
 * @param command The program; `"deno"` runs this test's own Deno.
 * @param args Its arguments.
 * @param options `cwd`, `env` added to the inherited environment (with `NO_COLOR=1`), and a `signal` that kills it.
 * @returns Its exit code and output.
 */
export async function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<CommandResult> {
  const out = await new Deno.Command(command === "deno" ? Deno.execPath() : command, {
    args,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  return { code: out.code, ok: out.success, stdout, stderr, text: stdout + stderr };
}
