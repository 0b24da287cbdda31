/**
 * One `node:sqlite` connection with a statement cache and the store's
 * transactions. Private to `core/graph/sqlite/`.
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { unavailable } from "../messages.ts";
import type { Transactions } from "../store_methods.ts";
import { mapSqliteError } from "./errors.ts";

/** The connection the SQLite store's parts share. */
export class SqliteDb {
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #writes = 0;
  /**
   * `read` and `write` as the graph methods run them (`../store_methods.ts`):
   * the operations are synchronous, so each runs, and throws, inside the
   * transaction.
   */
  readonly transactions: Transactions<SqliteDb> = {
    read: <T>(work: (db: SqliteDb) => T | Promise<T>) => this.read(() => work(this) as T),
    write: <T>(work: (db: SqliteDb) => T | Promise<T>) => this.write(() => work(this) as T),
  };

  /**
   * Wraps a connection.
   *
   * @param db An open connection with the schema in place.
   */
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** The first row of a query, or undefined. */
  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#statement(sql).get(...params) as T | undefined;
  }

  /** Every row of a query. */
  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#statement(sql).all(...params) as T[];
  }

  /**
   * Runs a write statement.
   *
   * @throws {RangeError} For text holding a NUL character: `node:sqlite` would store it whole but read it back cut
   *   at the NUL, so it is refused instead (the API refuses control characters in names before they get here).
   */
  run(sql: string, ...params: SQLInputValue[]): { changes: number; lastInsertRowid: number } {
    if (params.some((p) => typeof p === "string" && p.includes("\u0000"))) {
      throw new RangeError(
        "Cannot store text with a NUL character in the embedded SQLite store: it would read back cut",
      );
    }
    this.#writes++;
    const result = this.#statement(sql).run(...params);
    return { changes: Number(result.changes), lastInsertRowid: Number(result.lastInsertRowid) };
  }

  /**
   * What identifies the committed graph as this connection sees it: `PRAGMA data_version` changes when another
   * connection commits, and the count of write statements run here changes with this connection's own writes.
   */
  revision(): string {
    const row = this.get<{ data_version: number }>("PRAGMA data_version");
    return `${row?.data_version ?? 0}.${this.#writes}`;
  }

  /** Runs reads in one snapshot (a deferred transaction). */
  read<T>(body: () => T): Promise<T> {
    return this.#transaction("BEGIN", body);
  }

  /** Runs a write in one `BEGIN IMMEDIATE` transaction. */
  write<T>(body: () => T): Promise<T> {
    return this.#transaction("BEGIN IMMEDIATE", body);
  }

  /**
   * Runs `body` synchronously inside a transaction. `node:sqlite` is
   * synchronous, so no other call of this store interleaves with it; other
   * connections are kept out by SQLite's locks.
   */
  #transaction<T>(begin: "BEGIN" | "BEGIN IMMEDIATE", body: () => T): Promise<T> {
    try {
      if (!this.#db.isOpen) throw unavailable({ closed: true });
      this.#db.exec(begin);
      try {
        const result = body();
        this.#db.exec("COMMIT");
        return Promise.resolve(result);
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw error;
      }
    } catch (error) {
      return Promise.reject(mapSqliteError(error));
    }
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    if (this.#db.isOpen) {
      this.#statements.clear();
      this.#db.close();
    }
  }
}
