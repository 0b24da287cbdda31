import assert from "node:assert/strict";
import { credentialContext, Credentials } from "../core/credentials.ts";
import { Keyring } from "../core/crypto.ts";
import { SqliteStore } from "../core/graph/sqlite/store.ts";
import type { GraphStore } from "../core/graph/store.ts";

/**
 * The store, with one write of another client landing just before the
 * first `updateApplication` this code makes: the interleaving a concurrent
 * PATCH has, made deterministic.
 */
function withWriteInBetween(store: GraphStore, other: () => Promise<unknown>): GraphStore {
  let pending = true;
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (name !== "updateApplication" || typeof value !== "function") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (...args: Parameters<GraphStore["updateApplication"]>) => {
        if (pending) {
          pending = false;
          await other();
        }
        return await target.updateApplication(...args);
      };
    },
  });
}

Deno.test("Credentials.reencryptAll() never overwrites a credential changed while it runs", async () => {
  const store = SqliteStore.open(":memory:");
  try {
    const oldSpec = Keyring.generate("old");
    const oldKeys = await Keyring.parse(oldSpec);
    const keys = await Keyring.parse(`${Keyring.generate("new")},${oldSpec}`);
    await store.createOrg({ slug: "acme", name: "Acme" });
    const service = { slug: "aws", name: "AWS", vendor: null, base_url: null, account: null, region: null };
    await store.createService("acme", service);
    const context = (field: string) => credentialContext("acme", "aws", "prod", field);
    await store.createApplication("acme", "aws", {
      slug: "prod",
      name: "Prod",
      credentials: { token: await oldKeys.encrypt("old-token", context("token")) },
    });
    // Another client adds a field (under the new key, as the service would) after the re-encryption read.
    const patch = async () =>
      await store.updateApplication("acme", "aws", "prod", {
        credential_changes: { region: await keys.encrypt("eu-west-1", context("region")) },
      });
    const credentials = new Credentials(withWriteInBetween(store, patch), { keyring: keys, manifest: () => undefined });

    assert.deepEqual(await credentials.reencryptAll(), { applications: 1, plugins: 0, values: 1 });

    const stored = await store.getApplication("acme", "aws", "prod");
    assert.deepEqual(Object.values(stored.credentials).map((c) => Keyring.kidOf(c)), ["new", "new"]);
    assert.deepEqual(await credentials.decryptCredentials("acme", "aws", stored), {
      token: "old-token",
      region: "eu-west-1",
    });
  } finally {
    await store.close();
  }
});
