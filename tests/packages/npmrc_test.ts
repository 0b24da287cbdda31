import assert from "node:assert/strict";
import { nerfDart, parseNpmrc } from "../../core/packages/npmrc.ts";

const NPMRC = `
# registry credentials
registry=https://registry.npmjs.org/
//npm.internal.example/:_authToken=\${NPM_TOKEN}
//npm.internal.example/team/:_authToken="team-token"
//127.0.0.1:4873/:username=ci
//127.0.0.1:4873/:_password=${btoa("pass word")}
//basic.example/:_auth=dXNlcjpwYXNz
; a comment
`;

Deno.test("parseNpmrc() gives each request the credential of the longest matching registry", () => {
  const auth = parseNpmrc(NPMRC, { NPM_TOKEN: "env-token" });
  assert.equal(auth.headerFor("https://npm.internal.example/@acme%2fvault"), "Bearer env-token");
  assert.equal(auth.headerFor("https://npm.internal.example/team/@acme/vault/-/vault-1.0.0.tgz"), "Bearer team-token");
  assert.equal(auth.headerFor("http://127.0.0.1:4873/pkg"), `Basic ${btoa("ci:pass word")}`);
  assert.equal(auth.headerFor("https://basic.example/x"), "Basic dXNlcjpwYXNz");
  // Another host, another port, or a host that only starts the same: no credential.
  assert.equal(auth.headerFor("https://cdn.example/npm.internal.example/x.tgz"), undefined);
  assert.equal(auth.headerFor("http://127.0.0.1:4874/pkg"), undefined);
  assert.equal(auth.headerFor("https://npm.internal.example.evil/x"), undefined);
});

Deno.test("parseNpmrc() keeps credentials out of its JSON and its errors", () => {
  const auth = parseNpmrc(NPMRC, { NPM_TOKEN: "env-token" });
  assert.doesNotMatch(JSON.stringify({ auth }), /token|pass|dXNl/);
  assert.throws(() => parseNpmrc("_authToken=leaked-value", {}), (e: Error) => {
    assert.ok(e instanceof SyntaxError);
    assert.match(e.message, /line 1: "_authToken" must be scoped to a registry/);
    assert.doesNotMatch(e.message, /leaked-value/);
    return true;
  });
  assert.throws(() => parseNpmrc("//r.example/:_authToken=${MISSING}", {}), /line 1: \$\{MISSING\} is not set/);
  assert.throws(() => parseNpmrc("//r.example/:username=u", {}), /username and _password go together/);
});

Deno.test("nerfDart() names a URL the way npm's config keys do", () => {
  assert.equal(nerfDart("https://registry.example:8443/npm/"), "//registry.example:8443/npm/");
  assert.equal(nerfDart("https://registry.example:443/npm/pkg"), "//registry.example/npm/");
  assert.equal(nerfDart("https://user:pw@registry.example/?q=1"), "//registry.example/");
});
