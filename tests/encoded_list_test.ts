import assert from "node:assert/strict";
import { EncodedList, MASKED_VALUE, maskedValue } from "../core/encoded_list.ts";
import { jsonLength } from "../core/slices.ts";

const encoder = new TextEncoder();
const secret = { key: "DB_PASSWORD", value: "pw", data_type: "secret", secret: true };
const plain = { key: "HOST", value: "db", data_type: "string", secret: false };

Deno.test("maskedValue() masks a key that says secret, or whose data type the manifest calls secret", () => {
  assert.deepEqual(maskedValue(secret, new Set()), { ...secret, value: MASKED_VALUE, masked: true });
  assert.equal(maskedValue(plain, new Set()), plain, "left as it is");
  assert.deepEqual(maskedValue(plain, new Set(["string"])), {
    ...plain,
    secret: true,
    value: MASKED_VALUE,
    masked: true,
  });
});

Deno.test("an EncodedList shows its masked copy to a caller without the admin token", () => {
  const list = [secret, plain];
  const masked = list.map((item) => maskedValue(item, new Set()));
  const encoded = new EncodedList(
    "getValues",
    encoder.encode(JSON.stringify(list)),
    2,
    encoder.encode(JSON.stringify(masked)),
  );
  assert.equal(encoded.shown(true), encoded);
  const shown = encoded.shown(false);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(shown.json)), masked);
  assert.equal(shown.masked, null, "a masked copy has nothing more to mask");
  assert.equal(shown.length, 2);
});

Deno.test("an EncodedList stringifies as its list, and the cache measures the bytes it holds", async () => {
  const text = JSON.stringify([plain]);
  const encoded = new EncodedList("listKeys", encoder.encode(text), 1, null);
  assert.equal(JSON.stringify({ items: encoded }), `{"items":${text}}`);
  assert.equal(await jsonLength({ result: encoded, prefix: null }), `{"result":,"prefix":null}`.length + text.length);
  const withCopy = new EncodedList("getValues", encoder.encode(text), 1, encoder.encode("[]"));
  assert.equal(await jsonLength(withCopy), text.length + 2, "the masked copy counts too");
});
