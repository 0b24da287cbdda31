import assert from "node:assert/strict";
import { DecryptionError, keyProvider, Keyring } from "../core/crypto.ts";

Deno.test("Keyring.encrypt() round-trips and uses a fresh nonce per value", async () => {
  const ring = await Keyring.parse(Keyring.generate("a"));
  const one = await ring.encrypt("s3cret", "acme/aws/prod/secret_access_key");
  const two = await ring.encrypt("s3cret", "acme/aws/prod/secret_access_key");
  assert.notEqual(one, two);
  assert.ok(!one.includes("s3cret"));
  assert.equal(Keyring.kidOf(one), "a");
  assert.equal(await ring.decrypt(one, "acme/aws/prod/secret_access_key"), "s3cret");
});

Deno.test("Keyring.decrypt() refuses another context and a tampered value", async () => {
  const ring = await Keyring.parse(Keyring.generate("a"));
  const sealed = await ring.encrypt("s3cret", "acme/aws/prod/key");
  await assert.rejects(() => ring.decrypt(sealed, "acme/aws/other/key"), DecryptionError);
  // The second-to-last character carries six bits of the tag: replace it with another one.
  const flipped = sealed.slice(0, -2) + (sealed.at(-2) === "A" ? "B" : "A") + sealed.slice(-1);
  assert.notEqual(flipped, sealed);
  await assert.rejects(() => ring.decrypt(flipped, "acme/aws/prod/key"), DecryptionError);
});

Deno.test("Keyring rotation: old keys still decrypt, new values use the first key", async () => {
  const oldPair = Keyring.generate("old");
  const oldRing = await Keyring.parse(oldPair);
  const sealed = await oldRing.encrypt("v", "ctx");
  const rotated = await Keyring.parse(`${Keyring.generate("new")},${oldPair}`);
  assert.equal(await rotated.decrypt(sealed, "ctx"), "v");
  assert.equal(Keyring.kidOf(await rotated.encrypt("v", "ctx")), "new");
  const withoutOld = await Keyring.parse(Keyring.generate("new"));
  await assert.rejects(() => withoutOld.decrypt(sealed, "ctx"), (e: unknown) => {
    return e instanceof DecryptionError && e.kid === "old" && !e.message.includes("v1.");
  });
});

Deno.test("Keyring.parse() names the bad pair without echoing key material", async () => {
  await assert.rejects(() => Keyring.parse("nokid"), RangeError);
  await assert.rejects(() => Keyring.parse("a:c2hvcnQ="), /must be 32 bytes/);
  const pair = Keyring.generate("a");
  await assert.rejects(() => Keyring.parse(`${pair},${pair}`), /appears twice/);
});

Deno.test("keyProvider() creates one key file on the embedded store and refuses without a key on Neo4j", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await keyProvider({ keys: undefined, dataDir: dir, allowGenerated: true }).load();
    const again = await keyProvider({ keys: undefined, dataDir: dir, allowGenerated: true }).load();
    assert.equal(first.currentKid, again.currentKid);
    const sealed = await first.encrypt("x", "c");
    assert.equal(await again.decrypt(sealed, "c"), "x");
    assert.equal((await Deno.stat(`${dir}/encryption.keys`)).mode! & 0o777, 0o600);
    await assert.rejects(
      () => keyProvider({ keys: undefined, dataDir: dir, allowGenerated: false }).load(),
      /IMBI_ENCRYPTION_KEYS/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
