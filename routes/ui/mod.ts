/**
 * The operator console under `/ui/`. Its pages (`_app.ts`: sign-in, the
 * session and CSRF checks, static assets, each page group) are imported at
 * the console's first request, so an idle service never loads them.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppEnv } from "../_deps.ts";
import type { ConsoleEnv, ConsoleOptions } from "./_app.ts";

export type { ConsoleOptions };

/**
 * The console's routes: every method on `/ui` and `/ui/*` (the console answers each path under it, unknown ones
 * with its own 404 page), served by the console's app, which is built at the first of them.
 *
 * @param options Keyring, the app's fetch, the declared operations, the clock.
 * @returns The Hono app, mounted at `/`.
 */
export function consoleRoutes(options: ConsoleOptions): Hono<AppEnv> {
  let pages: Promise<Hono<ConsoleEnv>> | undefined;
  return new Hono<AppEnv>().all("/ui/*", async (c) => {
    pages ??= import("./_app.ts").then(({ consoleApp }) => consoleApp(options)).catch((error) => {
      pages = undefined; // a failed import is tried again at the next request
      throw error;
    });
    return (await pages).fetch(c.req.raw, { parent: c });
  });
}
