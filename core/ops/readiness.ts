/**
 * Readiness: whether this replica can serve, not merely whether it runs.
 * It is not ready while the graph store does not answer, while the lock
 * state failed to load, or while the configured keys cannot decrypt a
 * stored credential or secret option (checked at start and again after a
 * key change, one value per key id found in the store).
 *
 * @module
 */

import { credentialContext, isSealed, optionContext } from "../credentials.ts";
import { type Keyring } from "../crypto.ts";
import type { GraphStore } from "../graph/store.ts";
import { log } from "../logger.ts";

/** What `/readyz` reports. */
export interface ReadinessReport {
  /** True when every check passed. */
  ready: boolean;
  /** Why not, one sentence per failed check (empty when ready). */
  reasons: string[];
  /** The graph store answered a ping. */
  store: "up" | "down";
  /** The configured keys decrypt one stored value of every key id in use (`unchecked` before the first check). */
  keys: "ok" | "unreadable" | "unchecked";
  /** The lock state loaded. */
  lock: "ok" | "failed";
}

/** A stored secret and what to say about it if it does not decrypt. */
interface Sample {
  kid: string;
  ciphertext: string;
  context: string;
  what: string;
}

/** Tracks the checks behind `/readyz`. */
export class Readiness {
  #store: GraphStore;
  #keyring: Keyring;
  #lock: () => string | null;
  #keysProblem: string | null | undefined;

  /**
   * Builds the checks.
   *
   * @param store The graph store.
   * @param options `keyring`: the configured keys; `lock`: why the lock state failed to load, or null when it loaded.
   */
  constructor(store: GraphStore, options: { keyring: Keyring; lock?: () => string | null }) {
    this.#store = store;
    this.#keyring = options.keyring;
    this.#lock = options.lock ?? (() => null);
  }

  /**
   * Decrypts one stored value of every key id in use with the configured
   * keys, remembering the first that fails. Call at start and after a key
   * change. Never throws: a store that cannot be read leaves the check
   * `unchecked` (the store check reports it).
   *
   * @returns Why the keys are not usable, or null when they are.
   */
  async checkKeys(): Promise<string | null> {
    let samples: Sample[];
    try {
      samples = await this.#samples();
    } catch (error) {
      log.warn("cannot read the stored credentials to check the keys", { error: String(error) });
      this.#keysProblem = undefined;
      return null;
    }
    for (const sample of samples) {
      try {
        await this.#keyring.decrypt(sample.ciphertext, sample.context);
      } catch {
        const problem = `the configured encryption keys cannot decrypt ${sample.what} (key id "${sample.kid}")`;
        log.error("not ready: stored credentials are unreadable", { reason: problem });
        this.#keysProblem = problem;
        return problem;
      }
    }
    this.#keysProblem = null;
    return null;
  }

  /** One stored ciphertext per key id. */
  async #samples(): Promise<Sample[]> {
    const byKid = new Map<string, Sample>();
    const add = (ciphertext: string, context: string, what: string) => {
      const kid = ciphertext.split(".")[1] ?? "?";
      if (!byKid.has(kid)) byKid.set(kid, { kid, ciphertext, context, what });
    };
    // Services, applications and Plugin nodes only: the check scales with them, not with projects.
    for (const org of await this.#store.listOrgs()) {
      for (const service of await this.#store.listServices(org.slug)) {
        const where = `${org.slug}/${service.slug}`;
        for (const app of await this.#store.listApplications(org.slug, service.slug)) {
          for (const [field, sealed] of Object.entries(app.credentials)) {
            add(sealed, credentialContext(org.slug, service.slug, app.slug, field), `application ${where}/${app.slug}`);
          }
        }
        for (const node of await this.#store.listPlugins(org.slug, service.slug)) {
          for (const [name, value] of Object.entries(node.options)) {
            if (!isSealed(value)) continue;
            const context = optionContext(org.slug, service.slug, node.id, name);
            add(value, context, `a secret option of Plugin ${where}/${node.slug}`);
          }
        }
      }
    }
    return [...byKid.values()];
  }

  /**
   * Runs the checks.
   *
   * @returns The report; `ready` is false with a reason per failed check.
   */
  async report(): Promise<ReadinessReport> {
    const reasons: string[] = [];
    let store: ReadinessReport["store"] = "up";
    try {
      await this.#store.ping();
    } catch {
      store = "down";
      reasons.push(`the ${this.#store.kind} graph store does not answer`);
    }
    if (store === "up" && this.#keysProblem === undefined) await this.checkKeys();
    const keys = this.#keysProblem === undefined ? "unchecked" : this.#keysProblem === null ? "ok" : "unreadable";
    if (this.#keysProblem) reasons.push(this.#keysProblem);
    const lockProblem = this.#lock();
    if (lockProblem !== null) reasons.push(`the lock state failed to load: ${lockProblem}`);
    return { ready: reasons.length === 0, reasons, store, keys, lock: lockProblem === null ? "ok" : "failed" };
  }
}
