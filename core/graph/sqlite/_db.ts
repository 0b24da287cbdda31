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

/** The two copies of the WAL-index header at the start of a WAL database's `-shm` file, 48 bytes each. */
const WAL_INDEX_HEADER_BYTES = 96;

/** The connection the SQLite store's parts share. */
export class SqliteDb {
  #db: DatabaseSync;
  #statements = new Map<string, StatementSync>();
  #writes = 0;
  /** The `-shm` file while it can be read; null for a database without one (in memory, or not in WAL mode). */
  #walIndex: Deno.FsFile | null;
  #header = new Uint8Array(WAL_INDEX_HEADER_BYTES);
  #headerView = new DataView(this.#header.buffer);
  /** The last header read whole, as 12 words, and how many different ones were read. */
  #lastHeader = new Uint32Array(12);
  #headers = 0;
  /** The last revision token made from a header, and the write count it holds. */
  #token: string | undefined;
  #tokenWrites = 0;
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
   * @param path The database file, when it is one in WAL mode: its `-shm` file gives {@linkcode revision} without a
   *   statement.
   */
  constructor(db: DatabaseSync, path?: string) {
    this.#db = db;
    this.#walIndex = null;
    if (path === undefined) return;
    try {
      this.#walIndex = Deno.openSync(`${path}-shm`, { read: true });
    } catch {
      // No `-shm` file to read (or no permission to): revision() asks SQLite.
    }
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
   * What identifies the committed graph as this connection sees it, with the count of write statements run here
   * (which changes with this connection's own writes). In WAL mode it is read from the WAL-index header in the
   * `-shm` file that every connection maps (https://www.sqlite.org/walformat.html#the_wal_index_header): its change
   * counter, last frame and salts change with every commit, by any connection or process, and a reader that finds
   * the header's two copies equal has read a whole one. That is one `read` of 96 bytes, where
   * `PRAGMA data_version` (the fallback, when there is no `-shm` file or the copies differ while a commit writes
   * them) takes a read lock and a statement, about three times the cost.
   *
   * @throws {UnavailableError} When the connection is closed.
   */
  revision(): string {
    if (!this.#db.isOpen) throw unavailable({ closed: true });
    if (this.#readWalIndexHeader()) {
      if (this.#token === undefined || this.#tokenWrites !== this.#writes) {
        this.#tokenWrites = this.#writes;
        this.#token = `w${this.#headers}.${this.#writes}`;
      }
      return this.#token;
    }
    const row = this.get<{ data_version: number }>("PRAGMA data_version");
    return `v${row?.data_version ?? 0}.${this.#writes}`;
  }

  /**
   * Reads the WAL-index header; true when both copies were equal. A header that differs from the last one read
   * whole counts one more in `#headers` and drops `#token`.
   */
  #readWalIndexHeader(): boolean {
    const file = this.#walIndex;
    if (file === null) return false;
    const header = this.#header;
    let read: number | null;
    try {
      file.seekSync(0, Deno.SeekMode.Start);
      read = file.readSync(header);
    } catch {
      return false;
    }
    // isInit (byte 12) is 0 until a connection has built the index.
    if (read !== WAL_INDEX_HEADER_BYTES || header[12] === 0) return false;
    const view = this.#headerView;
    for (let i = 0; i < 48; i += 4) {
      if (view.getUint32(i) !== view.getUint32(i + 48)) return false;
    }
    const last = this.#lastHeader;
    let changed = false;
    for (let word = 0; word < 12; word++) {
      const value = view.getUint32(word * 4);
      if (value !== last[word]) {
        last[word] = value;
        changed = true;
      }
    }
    if (changed) {
      this.#headers++;
      this.#token = undefined;
    }
    return true;
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
    this.#walIndex?.close();
    this.#walIndex = null;
    if (this.#db.isOpen) {
      this.#statements.clear();
      this.#db.close();
    }
  }
}
