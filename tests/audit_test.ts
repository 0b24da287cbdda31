import assert from "node:assert/strict";
import { AuditLog } from "../core/audit.ts";
import { Keyring } from "../core/crypto.ts";
import { SqliteStore } from "../core/graph/sqlite/store.ts";

const entry = {
  actor: "admin-api:admin",
  request_id: "r-1",
  action: "application.update",
  target_kind: "application",
  target: "acme/aws/prod",
  from: { credential_fields: ["access_key_id"] },
  to: { credential_fields: ["access_key_id", "secret_access_key"] },
  detail: {},
};

Deno.test("AuditLog.record() stamps the time and this replica, and list() reads it back", async () => {
  const store = SqliteStore.open(":memory:");
  try {
    const audit = new AuditLog(store.control.audit, { replica: "web-2:41", now: () => new Date(Date.UTC(2026, 4, 1)) });
    assert.equal(audit.replica, "web-2:41");
    const written = await audit.record(entry);
    assert.deepEqual(written, { ...entry, seq: written.seq, at: "2026-05-01T00:00:00.000Z", replica: "web-2:41" });
    assert.deepEqual(await audit.list({ target: "acme/aws/prod" }), { items: [written], next: null });
  } finally {
    await store.close();
  }
});

Deno.test("AuditLog.record() refuses a record holding a credential ciphertext, naming where, never the value", async () => {
  const store = SqliteStore.open(":memory:");
  try {
    const audit = new AuditLog(store.control.audit, { replica: "web-1:1" });
    const keyring = await Keyring.parse(Keyring.generate("k1"));
    const ciphertext = await keyring.encrypt("hunter2-secret", "acme/aws/prod/secret_access_key");
    for (
      const leaky of [
        { to: { credentials: { secret_access_key: ciphertext } } },
        { detail: { values: [ciphertext] } },
        { from: ciphertext },
      ]
    ) {
      await assert.rejects(audit.record({ ...entry, ...leaky }), TypeError, JSON.stringify(Object.keys(leaky)));
    }
    await assert.rejects(
      audit.record({ ...entry, to: { credentials: { "a/b": ciphertext } } }),
      (e: unknown) =>
        e instanceof TypeError && e.message.includes("/to/credentials/a~1b") && !e.message.includes(ciphertext),
    );
    assert.deepEqual((await audit.list()).items, [], "nothing was written");
  } finally {
    await store.close();
  }
});
