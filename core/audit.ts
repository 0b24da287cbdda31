/**
 * The audit log as its callers use it: every admin write (package changes,
 * reloads, key re-encryption, graph resources, credentials, bindings)
 * records who did what to which thing, when, through which replica and
 * request, from what to what. The records live in the graph store
 * (`core/graph/audit_store.ts`), so every replica writes and reads one log.
 *
 * `record()` stamps the time and this replica's id and refuses a record
 * holding a credential ciphertext: credentials are recorded by field name
 * only, and a value never enters the log. A plaintext secret cannot be told
 * from other text, so callers pass field names, never values.
 *
 * @example
 * ```ts
 * const audit = new AuditLog(store.control.audit, { replica: "web-1:1" });
 * await audit.record({
 *   actor: "admin-api:admin",
 *   request_id: "r1",
 *   action: "application.update",
 *   target_kind: "application",
 *   target: "acme/aws/prod",
 *   from: { credential_fields: ["access_key_id"] },
 *   to: { credential_fields: ["access_key_id", "secret_access_key"] },
 *   detail: {},
 * });
 * ```
 *
 * @module
 */

import type { AuditEntry, AuditPage, AuditQuery, AuditRecord, AuditStore } from "./graph/audit_store.ts";

export type { AuditEntry, AuditPage, AuditQuery, AuditRecord };

/** Options of {@linkcode AuditLog}. */
export interface AuditLogOptions {
  /** This replica's id (`IMBI_REPLICA_ID`), written on every record. */
  replica: string;
  /** The clock. */
  now?: () => Date;
}

/** The format of a stored credential (`core/crypto.ts`): `v1.<kid>.<nonce>.<ciphertext>`. */
const CIPHERTEXT = /^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$/;

/**
 * The JSON pointer of the first string in `value` that is a credential ciphertext.
 *
 * @param value Any JSON value.
 * @param at The pointer of `value`.
 * @returns The pointer, or null when there is none.
 */
function ciphertextAt(value: unknown, at: string): string | null {
  if (typeof value === "string") return CIPHERTEXT.test(value) ? at : null;
  if (typeof value !== "object" || value === null) return null;
  for (const [key, item] of Object.entries(value)) {
    const found = ciphertextAt(item, `${at}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`);
    if (found !== null) return found;
  }
  return null;
}

/** Appends to and reads the shared audit log, stamping time and replica. */
export class AuditLog {
  #store: AuditStore;
  #replica: string;
  #now: () => Date;

  /**
   * Wraps the store's audit log.
   *
   * @param store `store.control.audit` of the graph store.
   * @param options This replica's id and the clock.
   */
  constructor(store: AuditStore, options: AuditLogOptions) {
    this.#store = store;
    this.#replica = options.replica;
    this.#now = options.now ?? (() => new Date());
  }

  /** This replica's id, as records carry it. */
  get replica(): string {
    return this.#replica;
  }

  /**
   * Appends one record, stamped with the time and this replica.
   *
   * @param entry Who, what, which thing, from what to what.
   * @returns The stored record with its `seq`.
   * @throws {TypeError} When `from`, `to` or `detail` holds a credential ciphertext (naming its pointer, not its value).
   */
  async record(entry: AuditEntry): Promise<AuditRecord> {
    const leak = ciphertextAt({ from: entry.from, to: entry.to, detail: entry.detail }, "");
    if (leak !== null) {
      throw new TypeError(
        `Cannot record "${entry.action}" on ${entry.target_kind} "${entry.target}": ${leak} holds a credential ` +
          "value; audit records name credential fields, never their values",
      );
    }
    return await this.#store.append({ ...entry, at: this.#now().toISOString(), replica: this.#replica });
  }

  /**
   * Records newest first, filtered and paged.
   *
   * @param query Limit, cursor and filters.
   * @returns One page and the cursor of the next.
   * @throws {RangeError} For a limit outside 1..1000 or a negative cursor.
   */
  async list(query?: AuditQuery): Promise<AuditPage> {
    return await this.#store.list(query);
  }
}
