/**
 * What a handler's failure on the wire (`WireError`, from the plugin
 * process's bootstrap) becomes in the service: a {@linkcode PluginCallError}
 * of the kind the API maps to a status, its message scrubbed of the node's
 * credentials.
 *
 * @module
 */

import { isHandlerErrorKind } from "@imbi/plugin-sdk/errors";
import { PluginCallError } from "../errors.ts";
import type { WireError } from "./protocol.ts";

/**
 * The service's error for a handler's failure.
 *
 * @param entry The plugin entry's slug, for messages.
 * @param method The method that failed.
 * @param error The failure as the child sent it.
 * @param scrub Redacts the node's credentials from the child's message.
 * @returns The error: a typed SDK kind as it is (with its `retry_after`), `invalid_input` for a method not
 *   implemented, `too_large`, or `internal` for anything else.
 */
export function handlerError(
  entry: string,
  method: string,
  error: WireError,
  scrub: (text: string) => string,
): PluginCallError {
  const message = scrub(error.message);
  switch (error.code) {
    case "not_implemented":
      return new PluginCallError("invalid_input", `plugin "${entry}" does not implement ${method}`, {
        notImplemented: true,
      });
    case "too_large":
      return new PluginCallError("too_large", `plugin "${entry}" answered ${method} with ${message}`);
    case "bad_result":
      return new PluginCallError("internal", `plugin "${entry}" answered ${method} with a value that is not JSON`);
    case "thrown":
      if (isHandlerErrorKind(error.kind)) {
        const options = error.retry_after !== undefined && error.retry_after >= 0
          ? { retryAfterSeconds: Math.ceil(error.retry_after) }
          : {};
        return new PluginCallError(error.kind, message, options);
      }
      return new PluginCallError(
        "internal",
        `plugin "${entry}" ${method} threw ${error.name ?? "a value"}: ${message}`,
      );
  }
}
