// deno-lint-ignore-file no-console -- CLI argument handling: its output is the user interface.
/**
 * Command-line parsing shared by the task entry points: `--help` prints the
 * usage and exits 0; an unknown flag, a missing value or a bad positional
 * prints one line and exits 2, never a stack trace.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** What a command accepts. */
export interface CommandSpec<T extends ParseArgsOptionsConfig> {
  /** The command's name in messages, e.g. `plugin:new`. */
  name: string;
  /** The full usage text printed by `--help`. */
  usage: string;
  /** The flags, as `node:util` `parseArgs` takes them (`help` is added). */
  options: T;
  /** Positional arguments accepted: at least `min`, at most `max` (default none). */
  positionals?: { min: number; max: number };
}

/**
 * Parses `args` or ends the process: `--help` → usage on stdout, exit 0;
 * a wrong flag or positional count → one line `<name>: <problem> (see --help)`
 * on stderr, exit 2.
 *
 * @param args The arguments (`Deno.args`).
 * @param spec What the command accepts.
 * @returns The parsed flags and positionals.
 */
export function parseCommand<T extends ParseArgsOptionsConfig>(
  args: string[],
  spec: CommandSpec<T>,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  const { min, max } = spec.positionals ?? { min: 0, max: 0 };
  const fail = (problem: string): never => usageError(spec.name, problem);
  if (wantsHelp(args)) {
    console.log(spec.usage);
    Deno.exit(0);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return fail(message.split(/\. To specify|\n/)[0]!);
  }
  const count = parsed.positionals.length;
  if (count < min) fail(min === 1 ? "missing argument" : `needs ${min} arguments`);
  if (count > max) fail(`unexpected argument "${parsed.positionals[max]}"`);
  return parsed;
}

/**
 * The `options` of a {@linkcode CommandSpec} from flag names: string flags
 * and boolean switches.
 *
 * @example
 * ```ts
 * parseCommand(Deno.args, { name: "publish", usage: USAGE, options: flags(["registry", "out"], ["dry-run"]) });
 * ```
 *
 * @param strings Flags that take a value (`--out <dir>`).
 * @param booleans Switches (`--dry-run`).
 * @returns The options as `node:util` `parseArgs` takes them.
 */
export function flags<const S extends string, const B extends string = never>(
  strings: readonly S[],
  booleans: readonly B[] = [],
): { [K in S | B]: { type: K extends B ? "boolean" : "string" } } {
  const entries = [
    ...strings.map((name) => [name, { type: "string" }]),
    ...booleans.map((name) => [name, { type: "boolean" }]),
  ];
  return Object.fromEntries(entries);
}

/**
 * Ends the process on a failure the user can fix: one line
 * `<name>: <message>` on stderr, exit 1, when `error` is an instance of one
 * of `expected`; anything else (a bug) is rethrown with its stack.
 *
 * @param name The command's name, e.g. `backup`.
 * @param error What was caught.
 * @param expected The error classes that mean a user's mistake.
 * @returns Never.
 * @throws {unknown} `error`, when it is not expected.
 */
// deno-lint-ignore no-explicit-any -- any error class, whatever its constructor takes
export function exitOnExpected(name: string, error: unknown, expected: (new (...args: any[]) => Error)[]): never {
  if (!expected.some((kind) => error instanceof kind)) throw error;
  console.error(`${name}: ${(error as Error).message}`);
  Deno.exit(1);
}

/**
 * Whether the arguments ask for the usage (`--help` or `-h` anywhere).
 *
 * @param args The arguments.
 * @returns True when they do.
 */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/**
 * Ends the process on a usage error: one line `<name>: <problem> (see --help)`
 * on stderr, exit 2.
 *
 * @param name The command's name, e.g. `graph:migrate`.
 * @param problem What is wrong with the arguments.
 * @returns Never.
 */
export function usageError(name: string, problem: string): never {
  console.error(`${name}: ${problem} (see --help)`);
  Deno.exit(2);
}
