import assert from "node:assert/strict";
import { checkTemplate, renderTemplate } from "../core/template.ts";

Deno.test("checkTemplate() accepts known placeholders and refuses unknown ones and stray braces", () => {
  assert.deepEqual(checkTemplate("/{org.slug}/{project.slug}/{environment}"), []);
  assert.match(checkTemplate("/{org.name}")[0]!, /unknown placeholder \{org.name\}/);
  assert.match(checkTemplate("/{project.slug")[0]!, /unbalanced/);
});

Deno.test("renderTemplate() fills every placeholder and leaves a missing environment empty", () => {
  const values = { "org.slug": "acme", "project.id": "p1", "project.slug": "web", "project.name": "Web" };
  assert.equal(renderTemplate("/{org.slug}/{project.slug}/{project.id}/{environment}", values), "/acme/web/p1/");
});
