/**
 * The service as operators run it: `./bin/deno task serve` (the task's own
 * permission flags, never `-A`) as a child process, until it logs
 * "listening". Its log lines are collected for assertions.
 *
 * @module
 */

/** The repository root. */
const ROOT = new URL("../../", import.meta.url).pathname;

/** A running `deno task serve`. */
export interface Served {
  /** Where it listens, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Every output line so far (JSON log lines and anything else). */
  lines: string[];
  /** SIGTERM, then waits for the exit (reading the rest of its log). */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `./bin/deno task serve` with exactly `env` as its environment.
 *
 * @param env The whole environment of the service.
 * @returns The running service.
 * @throws {Error} With its log when it exits before listening.
 */
export async function serve(env: Record<string, string>): Promise<Served> {
  const child = new Deno.Command(`${ROOT}bin/deno`, {
    args: ["task", "serve"],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Log lines go to stderr, or through console (stdout for info) when OTel exports them: read both.
  const lines: string[] = [];
  let notify = () => {};
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let partial = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
      notify();
    }
  };
  const drained = Promise.all([read(child.stdout), read(child.stderr)]);
  const exited = drained.then(() => child.status);
  const listening = await new Promise<string | undefined>((resolve) => {
    const check = () => {
      const line = lines.find((l) => l.includes('"msg":"listening"'));
      if (line) resolve(line);
    };
    notify = check;
    void exited.then(() => resolve(lines.find((l) => l.includes('"msg":"listening"'))));
  });
  notify = () => {};
  if (!listening) {
    await exited;
    throw new Error(`deno task serve did not start:\n${lines.join("\n")}`);
  }
  return {
    url: JSON.parse(listening).url as string,
    lines,
    async stop() {
      child.kill("SIGTERM");
      return await exited;
    },
  };
}
