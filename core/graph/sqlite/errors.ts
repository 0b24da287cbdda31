/**
 * Maps `node:sqlite` failures to the store's error classes, with the
 * messages of `core/graph/messages.ts`.
 *
 * @module
 */

import { ConflictError, UnavailableError } from "../../errors.ts";
import { concurrentWrite, unavailable } from "../messages.ts";

/** Primary result codes that mean "the store cannot answer right now". */
const UNAVAILABLE_CODES = new Set([
  5, // SQLITE_BUSY
  6, // SQLITE_LOCKED
  10, // SQLITE_IOERR
  13, // SQLITE_FULL
  14, // SQLITE_CANTOPEN
  15, // SQLITE_PROTOCOL
]);

/** Messages of the same conditions, for errors that carry no `errcode`. */
const UNAVAILABLE_MESSAGES = [
  "database is locked",
  "database table is locked",
  "disk I/O error",
  "database or disk is full",
  "unable to open database file",
  "database is not open",
  "locking protocol",
];

const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/**
 * Translates a thrown value from `node:sqlite`.
 *
 * Busy, locked, IO, full, cannot-open and closed-database errors become
 * {@linkcode UnavailableError}; a uniqueness violation that slipped past the
 * store's own checks (another process won a race) becomes
 * {@linkcode ConflictError}. Anything else is returned unchanged.
 *
 * @param error What was thrown.
 * @returns The error to throw instead.
 */
export function mapSqliteError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof UnavailableError || error instanceof ConflictError) return error;
  const code = (error as { code?: unknown }).code;
  if (code !== "ERR_SQLITE_ERROR" && code !== "ERR_INVALID_STATE") return error;
  const errcode = (error as { errcode?: unknown }).errcode;
  if (typeof errcode === "number") {
    if (UNAVAILABLE_CODES.has(errcode & 0xff)) {
      return unavailable({ cause: error });
    }
    if (errcode === SQLITE_CONSTRAINT_UNIQUE || errcode === SQLITE_CONSTRAINT_PRIMARYKEY) {
      return concurrentWrite(error);
    }
  }
  if (UNAVAILABLE_MESSAGES.some((m) => error.message.includes(m))) {
    return unavailable({ cause: error });
  }
  return error;
}
