/**
 * Maps `neo4j-driver` failures to the store's error classes, with the
 * messages of `core/graph/messages.ts`.
 *
 * @module
 */

import neo4j from "neo4j-driver";
import { ConflictError, NotFoundError, UnavailableError, ValidationError } from "../../errors.ts";
import { log } from "../../logger.ts";
import { concurrentWrite, unavailable } from "../messages.ts";

/**
 * Translates a thrown value from the driver.
 *
 * Unreachable, timed-out, expired or transient failures (and refused
 * credentials) become {@linkcode UnavailableError}; a uniqueness constraint
 * that a concurrent write tripped becomes {@linkcode ConflictError}; the
 * store's own errors and anything else are returned unchanged.
 *
 * @param error What was thrown.
 * @param retryAfterSeconds The `Retry-After` an `UnavailableError` carries.
 * @returns The error to throw instead.
 */
export function mapNeo4jError(error: unknown, retryAfterSeconds: number): unknown {
  if (!(error instanceof Error)) return error;
  if (
    error instanceof UnavailableError || error instanceof ConflictError || error instanceof NotFoundError ||
    error instanceof ValidationError
  ) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return error;
  if (code === "Neo.ClientError.Schema.ConstraintValidationFailed") return concurrentWrite(error);
  const refused = code === "Neo.ClientError.Security.Unauthorized";
  const isUnavailable = code === neo4j.error.SERVICE_UNAVAILABLE || code === neo4j.error.SESSION_EXPIRED ||
    code.includes("TransientError") || code === "Neo.ClientError.Security.AuthorizationExpired" || refused ||
    code === "Neo.ClientError.Database.DatabaseNotFound" || code.startsWith("Neo.ClientError.Cluster.") ||
    error.message.startsWith("Connection acquisition timed out") ||
    error.message.includes("Failed to connect to server") || error.message.includes("Pool is closed");
  if (isUnavailable) {
    log.warn("graph store unavailable", { kind: "neo4j", code, message: error.message });
    return unavailable({ refused, cause: error, retryAfterSeconds });
  }
  return error;
}

/**
 * Whether the server dropped the connection (a read may be retried once on a fresh one).
 *
 * @param error What was thrown.
 * @returns True for `ServiceUnavailable` and `SessionExpired`.
 */
export function isDroppedConnection(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === neo4j.error.SERVICE_UNAVAILABLE || code === neo4j.error.SESSION_EXPIRED;
}
