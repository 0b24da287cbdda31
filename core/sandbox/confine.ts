/**
 * Confinement of plugin processes beyond Deno's permission flags: a memory
 * cap that covers ArrayBuffers, WebAssembly and Workers, a thread cap, a CPU
 * quota, no listening sockets, no persistent storage, no orphans, and no CPU
 * burnt while no call is in flight. The work is done by the `imbi-jail`
 * wrapper (`core/sandbox/jail/imbi-jail.c`), which the service starts in
 * place of `deno`; this module finds and probes it, turns a plugin spawn
 * into the confined one, and reads the jail's verdict from the exit code.
 *
 * Mechanisms, strongest first:
 * - `cgroup`: a v1 cgroup per process (`memory.limit_in_bytes`, `pids.max`,
 *   `cpu.cfs_quota_us`), joined before `exec`, plus seccomp and PDEATHSIG.
 * - `rlimit`: no writable cgroup (e.g. not root): `RLIMIT_DATA` caps private
 *   writable memory, plus seccomp and PDEATHSIG; no thread cap or CPU quota.
 * - `none`: no jail binary: only Deno's flags and the V8 heap cap.
 *
 * See `docs/sandbox.md`, "Confinement".
 *
 * @module
 */

/** Which mechanism enforces the limits of plugin processes. */
export type ConfineMechanism = "cgroup" | "rlimit" | "none";

/** Operator settings of the confinement (README, settings table). */
export interface ConfineSettings {
  /** `IMBI_JAIL_PATH`: the `imbi-jail` binary; unset: `.cache/imbi-jail` in the checkout. */
  jailPath: string | undefined;
  /** `IMBI_CGROUP_ROOT`: where the cgroup v1 hierarchies are mounted. */
  cgroupRoot: string;
  /** `IMBI_SANDBOX_LIMITS`: `required` refuses to start without a jail; `warn` logs and runs. */
  limits: "required" | "warn";
  /** `IMBI_PLUGIN_PIDS_MAX`: processes and threads (Workers included) per plugin process (cgroup only). */
  pidsMax: number;
  /**
   * `IMBI_PLUGIN_CPU_PERCENT`: CPU quota per plugin process, percent of one core (cgroup only); 0, the
   * default, leaves the process in the service's `cpu` cgroup (see docs/sandbox.md for the cost of a quota).
   */
  cpuPercent: number;
  /**
   * `IMBI_PLUGIN_IDLE_CPU_MS`: CPU a process may want (run, or wait runnable) in any 5 s with no call in
   * flight; 0 is off.
   */
  idleCpuMs: number;
}

/** What the service found at start: the mechanism and everything needed to spawn through it. */
export interface Confinement {
  /** The mechanism that enforces the limits. */
  readonly mechanism: ConfineMechanism;
  /** The jail binary, when one is used. */
  readonly jailPath: string | null;
  /** seccomp refuses `listen`/`bind` in the plugin (false without a jail). */
  readonly seccomp: boolean;
  /** Why no cgroup could be used, when none is. */
  readonly cgroupError: string | null;
  /** The `DENO_DIR` of plugin processes: private, with no place for `localStorage` or the Cache API. */
  readonly denoDir: string;
  /** The settings it was probed with. */
  readonly settings: ConfineSettings;
}

/** A plugin spawn: the program, its arguments and its whole environment. */
export interface Spawn {
  /** The program to start. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** Its environment (the child gets this and nothing else). */
  env: Record<string, string>;
}

/** A spawn turned into its confined form, and how to read the outcome. */
export interface ConfinedSpawn extends Spawn {
  /**
   * Why the process ended, when the jail decided it: `memory` (the cgroup's
   * OOM killer), or `crashed` with the limit it broke; null otherwise.
   */
  exitCause(status: Deno.CommandStatus): { cause: "memory" | "crashed"; detail: string } | null;
  /**
   * Tells the jail, while `isBusy()` holds, that a call is in flight, by
   * sending `signal` (SIGWINCH, ignored by default) every 400 ms.
   *
   * @returns A function that stops the heartbeat.
   */
  heartbeat(isBusy: () => boolean, signal: () => void): () => void;
  /**
   * The plugin's own pid, from the first stderr line of a jailed process (the
   * jail names its child there before the child runs); null for any other line.
   */
  pluginPid(firstLine: string): number | null;
}

/** Defaults of {@linkcode ConfineSettings}. */
export const CONFINE_DEFAULTS: ConfineSettings = {
  jailPath: undefined,
  cgroupRoot: "/sys/fs/cgroup",
  limits: "warn",
  pidsMax: 64,
  cpuPercent: 0,
  idleCpuMs: 1000,
};

/**
 * Private writable memory an idle Deno 2.9 reserves before plugin code runs
 * (V8 code range and cage of the bootstrap; a jailed child starts no
 * watchdog Worker: `VmData` ≈ 552 MiB measured on an idle jailed plugin
 * process, ≈ 1.07 GiB with the Worker), added to the memory cap under
 * `RLIMIT_DATA`.
 */
export const RUNTIME_DATA_MB = 640;

const IDLE_WINDOW_MS = 5000;
const HEARTBEAT_MS = 400;
const EXIT = { memory: 201, idleCpu: 202, pids: 203, setup: 125 } as const;
const DEFAULT_JAIL = new URL("../../.cache/imbi-jail", import.meta.url);

/** Where the jail is looked for when `IMBI_JAIL_PATH` is unset (`deno task sandbox:jail` builds it there). */
export const DEFAULT_JAIL_PATH: string | null = DEFAULT_JAIL.protocol === "file:"
  ? decodeURIComponent(DEFAULT_JAIL.pathname)
  : null;

/** A confinement setting has a value that is not allowed. */
export class ConfineSettingError extends RangeError {
  /** Always `"ConfineSettingError"`. */
  override name = "ConfineSettingError";
  /** The environment variable at fault. */
  readonly variable: string;
  /** What is wrong with its value. */
  readonly reason: string;
  /**
   * Makes the error of one setting.
   *
   * @param variable The environment variable.
   * @param reason What is wrong with its value.
   */
  constructor(variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.variable = variable;
    this.reason = reason;
  }
}

/**
 * Reads the confinement settings from environment variables.
 *
 * @param env The environment (`Deno.env.toObject()` or a test's).
 * @returns The settings, defaults applied.
 * @throws {ConfineSettingError} Naming the variable when a value is not allowed.
 */
export function parseConfineSettings(env: Record<string, string | undefined>): ConfineSettings {
  const limits = env.IMBI_SANDBOX_LIMITS || CONFINE_DEFAULTS.limits;
  if (limits !== "required" && limits !== "warn") {
    throw new ConfineSettingError("IMBI_SANDBOX_LIMITS", `"${limits}" is not one of required, warn`);
  }
  const path = (name: string, fallback: string | undefined) => {
    const value = env[name] || fallback;
    if (value !== undefined && !value.startsWith("/")) {
      throw new ConfineSettingError(name, `"${value}" is not an absolute path`);
    }
    return value;
  };
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const text = env[name];
    if (!text) return fallback;
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || value < min || value > max) {
      throw new ConfineSettingError(name, `"${text}" is not an integer from ${min} to ${max}`);
    }
    return value;
  };
  return {
    jailPath: path("IMBI_JAIL_PATH", undefined),
    cgroupRoot: path("IMBI_CGROUP_ROOT", CONFINE_DEFAULTS.cgroupRoot)!,
    limits,
    pidsMax: integer("IMBI_PLUGIN_PIDS_MAX", CONFINE_DEFAULTS.pidsMax, 16, 4096),
    cpuPercent: integer("IMBI_PLUGIN_CPU_PERCENT", CONFINE_DEFAULTS.cpuPercent, 0, 6400),
    idleCpuMs: integer("IMBI_PLUGIN_IDLE_CPU_MS", CONFINE_DEFAULTS.idleCpuMs, 0, IDLE_WINDOW_MS * 64),
  };
}

/**
 * Finds the jail and asks it what this machine allows (`imbi-jail --probe`:
 * it creates and removes a cgroup, and checks seccomp in a throw-away child),
 * and makes the private `DENO_DIR` of plugin processes.
 *
 * @param settings The operator's settings.
 * @returns What enforces the limits.
 */
export async function probeConfinement(settings: ConfineSettings): Promise<Confinement> {
  const jailPath = await findJail(settings);
  let report: ProbeReport | null = null;
  if (jailPath) {
    const output = await new Deno.Command(jailPath, {
      args: ["--probe", "--cgroup-root", settings.cgroupRoot],
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    report = parseProbe(output);
  }
  return confinementFrom(settings, jailPath, report, await makePluginDenoDir());
}

/**
 * The refusal or warning the operator's `IMBI_SANDBOX_LIMITS` asks for.
 *
 * @param confinement What the probe found.
 * @returns A warning to log loudly, or null when the limits are enforced.
 * @throws {Error} When `required` and no mechanism enforces the limits.
 */
export function checkConfinement(confinement: Confinement): string | null {
  if (confinement.mechanism !== "none" && confinement.seccomp) return null;
  const why = confinement.jailPath === null
    ? `no imbi-jail binary (IMBI_JAIL_PATH, or build it with \`deno task sandbox:jail\`)`
    : "the jail cannot install its seccomp filter";
  const message = `Plugin processes are NOT confined: ${why}; memory beyond the V8 heap, threads, listening ` +
    `sockets and idle CPU are unlimited`;
  if (confinement.settings.limits === "required") throw new Error(`${message} (IMBI_SANDBOX_LIMITS=required)`);
  return message;
}

/**
 * A one-line account of the confinement, for the start-up log and `/readyz`.
 *
 * @param confinement What the probe found.
 * @returns Mechanism, what it enforces, and why a stronger one is not used.
 */
export function describeConfinement(
  confinement: Confinement,
): { mechanism: ConfineMechanism; enforces: string[]; seccomp: boolean; note: string | null } {
  const enforces = confinement.mechanism === "cgroup"
    ? ["memory (cgroup)", "pids (cgroup)", ...confinement.settings.cpuPercent > 0 ? ["cpu quota (cgroup)"] : []]
    : confinement.mechanism === "rlimit"
    ? ["memory (RLIMIT_DATA)"]
    : [];
  if (confinement.mechanism !== "none") {
    enforces.push("no listen/bind (seccomp)", "dies with the service (PDEATHSIG)");
    if (confinement.settings.idleCpuMs > 0) enforces.push("idle CPU");
  }
  enforces.push("no localStorage/Cache API (private DENO_DIR)");
  return {
    mechanism: confinement.mechanism,
    enforces,
    seccomp: confinement.seccomp,
    note: confinement.cgroupError ? `no cgroup: ${confinement.cgroupError}` : null,
  };
}

let active: Confinement | null = null;

/**
 * Makes a confinement the one every plugin spawn of this process uses. The
 * service calls it once at start with the probe's result.
 *
 * @param confinement What {@linkcode probeConfinement} found.
 */
export function useConfinement(confinement: Confinement): void {
  active = confinement;
}

/**
 * The confinement in use; when the service did not set one (tests, the
 * plugin test kit, the CLI), probed once from the environment.
 *
 * @returns The confinement.
 */
export function activeConfinement(): Confinement {
  if (active === null) {
    const settings = parseConfineSettings(environment());
    const jailPath = findJailSync(settings);
    let report: ProbeReport | null = null;
    if (jailPath) {
      const output = new Deno.Command(jailPath, {
        args: ["--probe", "--cgroup-root", settings.cgroupRoot],
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      report = parseProbe(output);
    }
    active = confinementFrom(settings, jailPath, report, makePluginDenoDirSync());
  }
  return active;
}

/**
 * Turns a plugin spawn into its confined form: `imbi-jail <limits> -- deno …`,
 * or the spawn unchanged when there is no jail. (Its `DENO_DIR` should be
 * {@linkcode Confinement.denoDir}, which the supervisor and inspector pass.)
 *
 * @param spawn The plain `deno run …` spawn.
 * @param limits `memoryMb`: the process's memory cap (V8 heap, ArrayBuffers, Wasm and Workers together).
 * @returns The spawn to run, and how to read its outcome.
 */
export function confineSpawn(spawn: Spawn, limits: { memoryMb: number }): ConfinedSpawn {
  const confinement = activeConfinement();
  const env = spawn.env;
  if (confinement.mechanism === "none" || confinement.jailPath === null) {
    return { ...spawn, exitCause: () => null, heartbeat: () => () => {}, pluginPid: () => null };
  }
  const { settings } = confinement;
  const args = ["--cgroup-root", settings.cgroupRoot, "--idle-cpu-ms", String(settings.idleCpuMs)];
  args.push("--idle-window-ms", String(IDLE_WINDOW_MS));
  if (confinement.mechanism === "cgroup") {
    args.push("--cgroup", "--memory-mb", String(limits.memoryMb), "--pids", String(settings.pidsMax));
    args.push("--cpu-percent", String(settings.cpuPercent));
  } else {
    args.push("--data-mb", String(limits.memoryMb + RUNTIME_DATA_MB));
  }
  args.push("--", spawn.command, ...spawn.args);
  return {
    command: confinement.jailPath,
    args,
    env,
    exitCause: (status) => jailVerdict(status, limits.memoryMb, settings),
    heartbeat: startHeartbeat,
    pluginPid: (firstLine) => {
      const match = /^imbi-jail: plugin pid ([0-9]+)$/.exec(firstLine);
      return match ? Number(match[1]) : null;
    },
  };
}

function jailVerdict(
  status: Deno.CommandStatus,
  memoryMb: number,
  settings: ConfineSettings,
): { cause: "memory" | "crashed"; detail: string } | null {
  switch (status.signal ? -1 : status.code) {
    case EXIT.memory:
      return { cause: "memory", detail: `killed at its ${memoryMb} MiB memory limit` };
    case EXIT.idleCpu:
      return {
        cause: "crashed",
        detail: `stopped: wanted over ${settings.idleCpuMs} ms of CPU in ${IDLE_WINDOW_MS} ms with no call in flight`,
      };
    case EXIT.pids:
      return { cause: "crashed", detail: `died at its limit of ${settings.pidsMax} threads (Workers count)` };
    case EXIT.setup:
      return { cause: "crashed", detail: "the sandbox could not be set up (see the plugin stderr log)" };
  }
  return null;
}

function startHeartbeat(isBusy: () => boolean, signal: () => void): () => void {
  const timer = setInterval(() => {
    if (isBusy()) signal();
  }, HEARTBEAT_MS);
  return () => clearInterval(timer);
}

interface ProbeReport {
  cgroup: "v1" | null;
  cgroupError: string;
  seccomp: boolean;
}

function parseProbe(output: Deno.CommandOutput): ProbeReport | null {
  try {
    const report = JSON.parse(new TextDecoder().decode(output.stdout));
    if (!output.success || report.version !== 1) return null;
    return {
      cgroup: report.cgroup === "v1" ? "v1" : null,
      cgroupError: String(report.cgroup_error),
      seccomp: report.seccomp === true,
    };
  } catch {
    return null;
  }
}

function confinementFrom(
  settings: ConfineSettings,
  jailPath: string | null,
  report: ProbeReport | null,
  denoDir: string,
): Confinement {
  if (jailPath === null || report === null) {
    return { mechanism: "none", jailPath: null, seccomp: false, cgroupError: null, denoDir, settings };
  }
  return {
    mechanism: report.cgroup ? "cgroup" : "rlimit",
    jailPath,
    seccomp: report.seccomp,
    cgroupError: report.cgroup ? null : report.cgroupError,
    denoDir,
    settings,
  };
}

function jailCandidate(settings: ConfineSettings): string | null {
  return settings.jailPath ?? DEFAULT_JAIL_PATH;
}

async function findJail(settings: ConfineSettings): Promise<string | null> {
  const path = jailCandidate(settings);
  try {
    return path !== null && (await Deno.stat(path)).isFile ? path : null;
  } catch {
    return null;
  }
}

function findJailSync(settings: ConfineSettings): string | null {
  const path = jailCandidate(settings);
  try {
    return path !== null && Deno.statSync(path).isFile ? path : null;
  } catch {
    return null;
  }
}

/**
 * A fresh `DENO_DIR` for plugin processes whose `location_data` is a regular
 * file: Deno keeps `localStorage` and the Cache API under that directory
 * (without asking for a write permission), so with a file there every such
 * write fails. Removed when this process exits normally.
 */
async function makePluginDenoDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "imbi-plugin-deno-" });
  await Deno.writeFile(`${dir}/location_data`, new Uint8Array(), { mode: 0o444 });
  removeAtExit(dir);
  return dir;
}

function makePluginDenoDirSync(): string {
  const dir = makePrivateTempDirSync("imbi-plugin-deno-");
  Deno.writeFileSync(`${dir}/location_data`, new Uint8Array(), { mode: 0o444 });
  return dir;
}

/**
 * A new temporary directory only this user can enter (mode 0700), removed
 * when this process exits normally.
 *
 * @param prefix The start of its name.
 * @returns Its path.
 */
export function makePrivateTempDirSync(prefix: string): string {
  const dir = Deno.makeTempDirSync({ prefix }); // Deno makes it 0700
  removeAtExit(dir);
  return dir;
}

function removeAtExit(dir: string): void {
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone, or no permission left: a temporary directory, the system cleans it.
    }
  });
}

function environment(): Record<string, string> {
  try {
    return Deno.env.toObject();
  } catch {
    return {};
  }
}
