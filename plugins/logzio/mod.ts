/**
 * `@imbi/plugin-logzio`: the `logzio` logs plugin (Logz.io Search API).
 *
 * @module
 */

import { LogzioLogs } from "./logzio.ts";

export { buildQuery, LogzioLogs } from "./logzio.ts";

/** The entry points of this package. */
export const plugins = [LogzioLogs];
