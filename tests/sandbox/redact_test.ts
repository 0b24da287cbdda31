import assert from "node:assert/strict";
import { makeRedactor, REDACTED } from "../../core/sandbox/redact.ts";
import { encodings } from "../fixtures/leaky/encodings.ts";

const TOKEN = "tok-Secret/42+ é=&x";

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

Deno.test("makeRedactor() replaces a credential in every common encoding and case", () => {
  const redact = makeRedactor({ token: TOKEN });
  for (const [form, value] of Object.entries(encodings(TOKEN) as Record<string, string>)) {
    const out = redact(`before ${value} after`);
    assert.ok(out.includes(REDACTED), `${form}: ${out}`);
    assert.ok(!out.includes(value), `${form} is still there: ${out}`);
  }
  assert.equal(redact(TOKEN.toUpperCase()), REDACTED);
  assert.equal(redact(JSON.stringify({ t: TOKEN })), `{"t":"${REDACTED}"}`);
  assert.equal(redact(encodeURIComponent(TOKEN).replaceAll("%20", "+")), REDACTED);
});

Deno.test("makeRedactor() finds a base64 credential at any byte offset inside a longer base64 text", () => {
  const redact = makeRedactor({ token: TOKEN });
  for (const prefix of ["", "a", "ab", "abc", "Authorization: Bearer "]) {
    const blob = base64(`${prefix}${TOKEN} and more text after it`);
    const out = redact(blob);
    assert.ok(out.includes(REDACTED), `offset ${prefix.length}: ${out}`);
    // What is left decodes to neither the credential nor any 8-character piece of it.
    const left = out.split(REDACTED).join("");
    assert.ok(!left.includes(base64(TOKEN).slice(2, 12)), `offset ${prefix.length}: ${out}`);
  }
});

Deno.test("makeRedactor() redacts each line of a multi-line value and leaves other text alone", () => {
  const pem = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----";
  const redact = makeRedactor({ key: pem, short: "abc" });
  assert.equal(redact("line MIIBVwIBADANBgkqhkiG9w0BAQEFAASC here"), `line ${REDACTED} here`);
  assert.equal(redact("abc and ordinary words, 0123456789abcdef"), "abc and ordinary words, 0123456789abcdef");
});

Deno.test("makeRedactor() stays cheap on an answer without credentials", () => {
  const credentials = Object.fromEntries(
    Array.from({ length: 8 }, (_, i) => [`field${i}`, `${crypto.randomUUID()}-${i}`]),
  );
  const redact = makeRedactor(credentials);
  const text = JSON.stringify(
    Array.from({ length: 500 }, (_, i) => ({ key: `KEY_${i}`, value: `value ${i} ${"x".repeat(100)}` })),
  );
  const started = performance.now();
  for (let i = 0; i < 100; i++) redact(text);
  const perCall = (performance.now() - started) / 100;
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      `[measured] redaction of a ${text.length}-byte answer, 8 credentials: ${perCall.toFixed(3)} ms\n`,
    ),
  );
  assert.equal(redact(text), text);
});
