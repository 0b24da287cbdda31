/**
 * `/admin/credentials`: key rotation. After a new key is put first in
 * `IMBI_ENCRYPTION_KEYS` (old keys kept after it), re-encrypting moves every
 * stored credential to the new key; then the old keys can be dropped. Each
 * application's write is audited in its transaction, and the run as a whole
 * as `credentials.reencrypt`.
 *
 * @module
 */

import { Hono } from "hono";
import type { AppDeps, AppEnv } from "./_deps.ts";
import { ok, operations } from "./_openapi.ts";
import { auditStamp } from "./_writes.ts";

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
export function adminCredentialRoutes(deps: AppDeps): Hono<AppEnv> {
  const { directory, audit } = deps;
  return new Hono<AppEnv>().post("/admin/credentials/reencrypt", reencrypt, async (c) => {
    const stamp = auditStamp(c, deps);
    const moved = await directory.reencryptAll({ audit: stamp });
    const result = { key_id: directory.keyring.currentKid, ...moved };
    await deps.readiness.checkKeys();
    await audit.record({
      actor: stamp.actor,
      request_id: stamp.request_id,
      action: "credentials.reencrypt",
      target_kind: "credentials",
      target: "*",
      from: null,
      to: null,
      detail: result,
    });
    return c.json(result);
  });
}
