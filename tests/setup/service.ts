/**
 * The shape every test service module (`tests/setup/<name>.ts`) exports.
 *
 * @module
 */

/** A running test service. */
export interface RunningService {
  /** Variables the tests read, e.g. `{ IMBI_TEST_NEO4J_URL: "bolt://127.0.0.1:7688" }`. */
  env: Record<string, string>;
  /** Stops the service and everything it started. */
  stop(): Promise<void>;
}

/** A real backend the tests need, installed and started by `tests/setup/run.ts`. */
export interface TestService {
  name: string;
  /** Installs what the service needs into `cacheDir` (idempotent; quick when cached). */
  install(cacheDir: string, progress: (line: string) => void): Promise<void>;
  /** Starts the service on loopback, on free ports. */
  start(cacheDir: string, progress: (line: string) => void): Promise<RunningService>;
}

/**
 * The first of `candidates` that runs with `args` (default `--version`).
 *
 * @param candidates Command names or paths, in order of preference.
 * @param args What proves it runs.
 * @returns The one that runs, or undefined.
 */
export async function findCommand(candidates: string[], args = ["--version"]): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      const out = await new Deno.Command(candidate, { args, stdin: "null", stdout: "null", stderr: "null" }).output();
      if (out.success) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function aptGet(args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command("apt-get", {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Installs a Debian package, updating the package lists once when the first try fails.
 *
 * @param name The package.
 * @throws {Error} When it cannot be installed.
 */
export async function aptInstall(name: string): Promise<void> {
  if (await aptGet(["install", "-y", "-qq", name])) return;
  await aptGet(["update", "-qq"]);
  if (!await aptGet(["install", "-y", "-qq", name])) throw new Error(`apt-get install ${name} failed`);
}

/**
 * A test service whose program comes from a Debian package: installing
 * finds one of `commands` or runs `apt-get install <debianPackage>`;
 * starting finds it again and hands it to `start`.
 *
 * @param name The service's name.
 * @param options The Debian package, the commands that prove it is installed (in order of preference), and what
 *   starts the service from the binary found.
 * @returns The service.
 */
export function debianService(
  name: string,
  options: {
    debianPackage: string;
    commands: string[];
    start(binary: string, cacheDir: string, progress: (line: string) => void): Promise<RunningService>;
  },
): TestService {
  return {
    name,
    async install(_cacheDir, progress) {
      if (await findCommand(options.commands)) return;
      progress(`installing Debian package ${options.debianPackage}`);
      await aptInstall(options.debianPackage);
    },
    async start(cacheDir, progress) {
      const binary = await findCommand(options.commands);
      if (!binary) throw new Error(`${name} is not installed`);
      return await options.start(binary, cacheDir, progress);
    },
  };
}
