/**
 * `/admin/credentials`: key rotation. After a new key is put first in
 * `IMBI_ENCRYPTION_KEYS` (old keys kept after it), re-encrypting moves every
 * stored credential to the new key; then the old keys can be dropped.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, operations } from "./_openapi.ts";

const reencrypt = operations("Admin").admin(
  "Re-encrypt every stored credential and secret option with the current (first) key",
  {
    success: ok("How many applications, Plugin nodes and values moved to the current key", {
      type: "object",
      properties: {
        key_id: { type: "string" },
        applications: { type: "integer" },
        plugins: { type: "integer" },
        values: { type: "integer" },
      },
    }),
  },
);

/**
 * Credential administration routes.
 *
 * @param deps The application's dependencies.
 * @returns The Hono app.
 */
export function adminCredentialRoutes({ directory }: AppDeps): Hono<AppEnv> {
  return new Hono<AppEnv>().post("/admin/credentials/reencrypt", reencrypt, async (c) => {
    const moved = await directory.reencryptAll();
    return c.json({ key_id: directory.keyring.currentKid, ...moved });
  });
}
