import assert from "node:assert/strict";
import * as results from "./results.ts";

Deno.test("parseConfigKeys() normalises last_modified and drops a null one", () => {
  assert.deepEqual(
    results.parseConfigKeys([
      { key: "A", data_type: "string", secret: false, last_modified: "2026-01-01T00:00:00+01:00" },
      { key: "B", data_type: "secret", secret: true, last_modified: null },
    ]),
    [
      { key: "A", data_type: "string", secret: false, last_modified: "2025-12-31T23:00:00.000Z" },
      { key: "B", data_type: "secret", secret: true },
    ],
  );
});

Deno.test("parseConfigKey() and parseConfigValues() name the first bad field", () => {
  assert.throws(() => results.parseConfigKey({ key: "A", data_type: "string" }), {
    name: "TypeError",
    message: "secret must be a boolean",
  });
  assert.throws(() => results.parseConfigKeys({}), { message: "the result must be a list" });
  assert.throws(
    () =>
      results.parseConfigValues([{ key: "A", data_type: "string", secret: false, value: "1" }, {
        key: "B",
        data_type: "string",
        secret: false,
      }]),
    { message: "[1].value must be a string" },
  );
  assert.throws(() => results.parseConfigKey({ key: "A", data_type: "string", secret: false, last_modified: "soon" }), {
    message: "last_modified must be an ISO 8601 time",
  });
});

Deno.test("parseLogPage() fills absent fields and warnings and refuses too many or misordered entries", () => {
  const entry = (timestamp: string) => ({ timestamp, message: "m", level: null });
  assert.deepEqual(
    results.parseLogPage({ entries: [entry("2026-01-01T00:01:00Z"), entry("2026-01-01T00:00:00Z")] }, 2),
    {
      entries: [
        { timestamp: "2026-01-01T00:01:00.000Z", message: "m", fields: {} },
        { timestamp: "2026-01-01T00:00:00.000Z", message: "m", fields: {} },
      ],
      warnings: [],
    },
  );
  assert.throws(
    () => results.parseLogPage({ entries: [entry("2026-01-01T00:00:00Z"), entry("2026-01-01T00:01:00Z")] }, 5),
    {
      message: "entries[1] is newer than the entry before it: entries must be newest first",
    },
  );
  assert.throws(() => results.parseLogPage({ entries: [entry("2026-01-01T00:00:00Z")] }, 0), {
    message: "returned 1 entries for a limit of 0",
  });
  assert.throws(() => results.parseLogPage({ entries: [{ timestamp: "x", message: "m" }] }, 5), {
    message: "entries[0].timestamp must be an ISO 8601 time",
  });
  assert.throws(() => results.parseLogPage({ entries: [], warnings: [1] }, 5), {
    message: "warnings[0] must be a string",
  });
});

Deno.test("parseLogFields() and parseHistogram() check every item", () => {
  assert.deepEqual(results.parseLogFields([{ name: "n", label: "N", type: "keyword" }]), [{
    name: "n",
    label: "N",
    type: "keyword",
  }]);
  assert.throws(() => results.parseLogFields([{ name: "n", label: "N" }]), { message: "[0].type must be a string" });
  assert.deepEqual(results.parseHistogram([{ timestamp: "2026-01-01T00:00:00Z", count: 2 }]), [
    { timestamp: "2026-01-01T00:00:00.000Z", count: 2, levels: {} },
  ]);
  assert.throws(() => results.parseHistogram([{ timestamp: "2026-01-01T00:00:00Z", count: -1 }]), {
    message: "[0].count must be a non-negative number",
  });
  assert.throws(
    () => results.parseHistogram([{ timestamp: "2026-01-01T00:00:00Z", count: 1, levels: { info: "1" } }]),
    {
      message: "[0].levels.info must be a number",
    },
  );
});
