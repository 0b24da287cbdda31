/**
 * The driver, its sessions and the store's transactions, shared by the parts
 * of the Neo4j store. Private to `core/graph/neo4j/`.
 *
 * @module
 */

import neo4j, { type Driver, type ManagedTransaction } from "neo4j-driver";
import { log } from "../../logger.ts";
import { unavailable } from "../messages.ts";
import type { Transactions } from "../store_methods.ts";
import { isDroppedConnection, mapNeo4jError } from "./errors.ts";
import { Q } from "./queries.ts";
import { SCHEMA } from "./schema.ts";

/** Attempts of one schema statement that keeps meeting deadlocks or transient errors. */
const SCHEMA_ATTEMPTS = 12;

/** A managed transaction, as the store's parts receive it. */
export type Tx = ManagedTransaction;

/** One row of a result (a `neo4j-driver` `Record`), as the store's parts read it. */
export interface Row {
  /** A field's value, typed by the caller as the query returns it. */
  // deno-lint-ignore no-explicit-any
  get(key: string): any;
  /** Every field by name. */
  // deno-lint-ignore no-explicit-any
  toObject(): Record<string, any>;
}

/** A query's result, as the store's parts read it. */
export interface Result {
  /** The rows. */
  records: Row[];
  /** What a write changed. */
  summary: { counters: { updates(): { nodesCreated: number; relationshipsCreated: number } } };
}

/**
 * Runs one query in a transaction, logging its text (never its values).
 *
 * @param tx The transaction.
 * @param cypher A constant from `queries.ts`.
 * @param params The values.
 * @returns The result.
 */
export async function run(tx: Tx, cypher: string, params: Record<string, unknown>): Promise<Result> {
  log.debug("neo4j query", { cypher });
  return await tx.run(cypher, params);
}

/**
 * Runs one query and answers its first row.
 *
 * @param tx The transaction.
 * @param cypher A constant from `queries.ts`.
 * @param params The values.
 * @returns The first row, or null.
 */
export async function one(tx: Tx, cypher: string, params: Record<string, unknown>): Promise<Row | null> {
  return (await run(tx, cypher, params)).records[0] ?? null;
}

/** Session settings of {@linkcode Neo4jDb}. */
export interface Neo4jDbOptions {
  /** Database name; the server's default when absent. */
  database?: string;
  /** Server-side transaction timeout, in ms. */
  txTimeoutMs: number;
  /** The `Retry-After` an `UnavailableError` carries, in seconds. */
  retryAfterSeconds: number;
}

/** The driver with the store's sessions and transactions. */
export class Neo4jDb {
  #driver: Driver;
  #options: Neo4jDbOptions;
  #closed = false;
  /** `read` and `write` as the graph methods run them (`../store_methods.ts`). */
  readonly transactions: Transactions<Tx> = {
    read: (work) => this.read(async (tx) => await work(tx)),
    write: (work) => this.write(async (tx) => await work(tx)),
  };

  /**
   * Wraps a driver.
   *
   * @param driver An open driver.
   * @param options Database, timeout, `Retry-After`.
   */
  constructor(driver: Driver, options: Neo4jDbOptions) {
    this.#driver = driver;
    this.#options = options;
  }

  #session(mode: "READ" | "WRITE") {
    if (this.#closed) throw unavailable({ closed: true, retryAfterSeconds: this.#options.retryAfterSeconds });
    return this.#driver.session({
      defaultAccessMode: mode === "READ" ? neo4j.session.READ : neo4j.session.WRITE,
      ...(this.#options.database ? { database: this.#options.database } : {}),
    });
  }

  #map(error: unknown): unknown {
    return mapNeo4jError(error, this.#options.retryAfterSeconds);
  }

  async #withSession<T>(mode: "READ" | "WRITE", body: (session: ReturnType<Driver["session"]>) => Promise<T>) {
    const session = this.#session(mode);
    try {
      return await body(session);
    } catch (error) {
      throw this.#map(error);
    } finally {
      await session.close().catch(() => {});
    }
  }

  /** Runs reads in one managed read transaction. */
  read<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#withSession("READ", (s) => s.executeRead(work, { timeout: this.#options.txTimeoutMs }));
  }

  /** Runs a write in one managed write transaction. */
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.#withSession("WRITE", (s) => s.executeWrite(work, { timeout: this.#options.txTimeoutMs }));
  }

  /**
   * One query as an auto-commit transaction: one round trip (`RUN` and
   * `PULL` pipelined), where `read` adds `BEGIN` and `COMMIT`. A connection
   * the server dropped is retried once, on a fresh one.
   */
  async readOne(cypher: string, params: Record<string, unknown>): Promise<Row | null> {
    for (let attempt = 0;; attempt++) {
      const session = this.#session("READ");
      try {
        log.debug("neo4j query", { cypher });
        const result = await session.run(cypher, params, { timeout: this.#options.txTimeoutMs });
        return result.records[0] ?? null;
      } catch (error) {
        if (!isDroppedConnection(error) || attempt > 0) throw this.#map(error);
      } finally {
        await session.close().catch(() => {});
      }
    }
  }

  /** Runs `RETURN 1` on one connection, without retries. */
  async ping(): Promise<void> {
    await this.#withSession("READ", (s) => s.run(Q.ping, {}, { timeout: 2000 }));
  }

  /**
   * Creates the constraints and indexes that are missing. Safe to race: any
   * number of processes may run it at once. Another process creating a rule
   * meanwhile is fine; a deadlock or another transient error between their
   * schema transactions is retried with jittered back-off (each statement is
   * idempotent), up to `SCHEMA_ATTEMPTS` times.
   */
  async ensureSchema(): Promise<void> {
    await this.#withSession("WRITE", async (session) => {
      for (const statement of SCHEMA) {
        for (let attempt = 1;; attempt++) {
          try {
            await session.run(statement.cypher);
            break;
          } catch (error) {
            const code = (error as { code?: string }).code ?? "";
            // Another process created the same rule between our IF NOT EXISTS and our write.
            if (code.includes("AlreadyExists")) break;
            const transient = code.includes("TransientError") || code.includes("Deadlock");
            if (!transient || attempt >= SCHEMA_ATTEMPTS) throw error;
            const wait = Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random());
            log.warn("schema statement hit a concurrent schema change; retrying", {
              name: statement.name,
              code,
              attempt,
              retry_in_ms: Math.round(wait),
            });
            await new Promise((r) => setTimeout(r, wait));
          }
        }
      }
    });
  }

  /** Closes the driver and its pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }
}
