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
