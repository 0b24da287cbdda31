/**
 * The service as operators run it, `./bin/deno task serve`, as a child
 * process for end-to-end tests.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** A service started by {@linkcode serve}. */
export interface ServedService {
  /** Its base URL, from the "listening" line. */
  url: string;
  /** Every log line so far (stderr), read as the service writes them. */
  lines: string[];
  /** Sends SIGTERM and waits for it to exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Runs `./bin/deno task serve` (the task's own permission flags) until it
 * logs "listening"; its log lines are collected.
 *
 * @param env Environment added to this process's.
 * @returns The running service.
 */
export async function serve(env: Record<string, string>): Promise<ServedService> {
  const child = new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", "serve"],
    cwd: ROOT,
    env,
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
      lines.push(...parts); // every line of the chunk, even past the one waited for
      const found = until && parts.find(until);
      if (found !== undefined) return found;
    }
  };
  const listening = await pump((line) => line.includes('"msg":"listening"'));
  if (!listening) {
    await child.status;
    throw new Error(`deno task serve did not start:\n${lines.join("\n")}`);
  }
  // Keep reading, so `lines` grows as the service logs and its pipe never fills.
  const drained = pump();
  return {
    url: JSON.parse(listening).url as string,
    lines,
    async stop() {
      child.kill("SIGTERM");
      await drained;
      return await child.status;
    },
  };
}
