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

/** What apt-get said when it failed, for the error of the install that gives up. */
interface AptResult {
  ok: boolean;
  said: string;
}

async function aptGet(args: string[]): Promise<AptResult> {
  try {
    // dpkg holds one lock for the whole machine: wait for it (another
    // install, or unattended upgrades) instead of failing at once.
    const out = await new Deno.Command("apt-get", {
      args: ["-o", "DPkg::Lock::Timeout=300", ...args],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    return { ok: out.success, said: new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join(" ") };
  } catch (error) {
    return { ok: false, said: String(error) };
  }
}

/** Installs run one at a time: the test services start in parallel, and dpkg allows one install at once. */
let aptQueue: Promise<unknown> = Promise.resolve();

/**
 * Installs a Debian package, updating the package lists once when the first try fails. Installs from one process run one
 * after the other.
 *
 * @param name The package.
 * @throws {Error} When it cannot be installed, with apt-get's last words.
 */
export function aptInstall(name: string): Promise<void> {
  const run = aptQueue.then(async () => {
    if ((await aptGet(["install", "-y", "-qq", name])).ok) return;
    await aptGet(["update", "-qq"]);
    const last = await aptGet(["install", "-y", "-qq", name]);
    if (!last.ok) throw new Error(`apt-get install ${name} failed: ${last.said}`);
  });
  aptQueue = run.catch(() => undefined);
  return run;
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
