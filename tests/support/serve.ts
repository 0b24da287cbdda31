/**
 * The service as operators run it: `./bin/deno` with the `serve` task's own
 * command line from `deno.json` (its permission flags, never `-A`), as a
 * child process, until it logs "listening".
 *
 * @module
 */

import { ROOT } from "./test_app.ts";

/** A running `deno task serve`. */
export interface ServedService {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Every log line so far. */
  lines: string[];
  /** Stops it (SIGTERM) and waits for it to exit. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts the service with the serve task's command line.
 *
 * @param env The whole environment of the child (nothing is inherited).
 * @returns The running service.
 * @throws {Error} With its log, when it exits before listening.
 */
export async function serveTask(env: Record<string, string>): Promise<ServedService> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const [deno, ...args] = (config.tasks.serve.command as string).split(/\s+/);
  if (deno !== "deno") throw new Error(`the serve task does not start with deno: ${config.tasks.serve.command}`);
  const child = new Deno.Command(`${ROOT}bin/deno`, {
    args,
    cwd: ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
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
