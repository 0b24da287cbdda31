/**
 * One {@link Supervisor} per key, for the whole service: the registry asks
 * for a Plugin node's sandbox by a key that names the registry generation,
 * the node and its configuration, drains a replaced generation on reload,
 * and closes everything at shutdown (spec sections 4 and 5).
 *
 * @module
 */

import { type SandboxSpec, Supervisor, type SupervisorOptions } from "./supervisor.ts";

/**
 * The supervisors of a running service.
 *
 * @example
 * ```ts
 * const pool = new SandboxPool({ maxConcurrent: 8 });
 * const supervisor = pool.acquire(`${generation}:${node.id}:${configHash}`, () => specFor(node));
 * await supervisor.call("listKeys", [ctx], { requestId });
 * await pool.drain((key) => key.startsWith(`${oldGeneration}:`));
 * await pool.closeAll();
 * ```
 */
export class SandboxPool {
  #options: Partial<SupervisorOptions>;
  #supervisors = new Map<string, Supervisor>();
  #draining = new Set<Supervisor>();

  /**
   * Makes an empty pool.
   *
   * @param options Passed to every supervisor this pool creates.
   */
  constructor(options: Partial<SupervisorOptions> = {}) {
    this.#options = options;
  }

  /**
   * The supervisor of `key`, created (without starting a process) on first use.
   *
   * @param key Identifies one Plugin node in one configuration.
   * @param makeSpec Called only when the key is new.
   * @returns The key's supervisor.
   * @throws {TypeError} When the spec's bundle path or net entries cannot be used.
   */
  acquire(key: string, makeSpec: () => SandboxSpec): Supervisor {
    let supervisor = this.#supervisors.get(key);
    if (supervisor === undefined) {
      supervisor = new Supervisor(makeSpec(), this.#options);
      this.#supervisors.set(key, supervisor);
    }
    return supervisor;
  }

  /**
   * Forgets the matching supervisors at once (a later `acquire` makes a new
   * one) and drains them: their calls in flight finish, then their
   * processes exit.
   *
   * @param predicate Chooses keys to drain.
   */
  async drain(predicate: (key: string) => boolean): Promise<void> {
    const draining: Promise<void>[] = [];
    for (const [key, supervisor] of this.#supervisors) {
      if (!predicate(key)) continue;
      this.#supervisors.delete(key);
      this.#draining.add(supervisor);
      draining.push(supervisor.drain().finally(() => this.#draining.delete(supervisor)));
    }
    await Promise.all(draining);
  }

  /**
   * Kills every child process now, draining ones included (service
   * shutdown), and waits until they are gone.
   */
  async closeAll(): Promise<void> {
    const supervisors = [...this.#supervisors.values(), ...this.#draining];
    this.#supervisors.clear();
    await Promise.all(supervisors.map((supervisor) => supervisor.close()));
  }

  /**
   * Whether a live supervisor exists for a key (so `acquire` would not call
   * `makeSpec`).
   *
   * @param key The key.
   * @returns True when the key has a supervisor that is not draining.
   */
  has(key: string): boolean {
    return this.#supervisors.has(key);
  }

  /** Every live supervisor with its stats. */
  list(): { key: string; stats: Supervisor["stats"] }[] {
    return [...this.#supervisors].map(([key, supervisor]) => ({ key, stats: supervisor.stats }));
  }
}
