/**
 * The service as operators run it, as a child process: `./bin/deno task
 * serve` with the task's own permission flags, listening on a port the
 * kernel picks, its JSON log lines collected. Used by the multi-replica
 * end-to-end test.
 *
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname;

function inherited(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) => !k.startsWith("IMBI_") || k.startsWith("IMBI_TEST_")),
  );
}

/** One running service process. */
export interface ServiceProcess {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Its log lines so far (JSON, one per line). */
  lines: string[];
  /** Milliseconds from spawn to "listening". */
  startupMs: number;
  /**
   * One request to it with the admin token, answering status and parsed body.
   *
   * @param method HTTP method.
   * @param path Path and query.
   * @param body JSON body, if any.
   */
  // deno-lint-ignore no-explicit-any
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Spawns `./bin/deno task serve` and waits for its "listening" line.
 *
 * @param env Its environment (IMBI_PORT is set to 0 unless given).
 * @param adminToken The admin token `call` sends.
 * @returns The running process.
 * @throws {Error} With its log when it exits before listening.
 */
export async function spawnService(env: Record<string, string>, adminToken: string): Promise<ServiceProcess> {
  const started = performance.now();
  const child = new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", "serve"],
    cwd: ROOT,
    // The test runner's environment without its own IMBI_ settings, then the service's.
    env: { ...inherited(), IMBI_PORT: "0", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let partial = "";
  const pump = async (until?: (line: string) => boolean): Promise<string | undefined> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      const parts = (partial + value).split("\n");
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (until?.(line)) return line;
      }
    }
  };
  const listening = await pump((line) => line.includes('"msg":"listening"'));
  if (!listening) {
    await child.status;
    throw new Error(`deno task serve did not start:\n${lines.join("\n")}`);
  }
  const url = JSON.parse(listening).url as string;
  const draining = pump();
  return {
    url,
    lines,
    startupMs: Math.round(performance.now() - started),
    async call(method, path, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON: kept as text.
      }
      return { status: response.status, body: parsed };
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await draining;
      return await child.status;
    },
  };
}

/**
 * Runs `./bin/deno task <task> <args…>` to its end, with the test runner's
 * environment (without its IMBI_ settings) and `env`.
 *
 * @param task The task, e.g. `plugins`.
 * @param args Its arguments.
 * @param env Its environment.
 * @returns The exit code and both outputs.
 */
export async function runTask(
  task: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", task, ...args],
    cwd: ROOT,
    env: { ...inherited(), ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
