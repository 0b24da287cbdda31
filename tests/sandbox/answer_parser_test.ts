import assert from "node:assert/strict";
import { checkDepth, parseAnswer, parseWhole, SLICE_CHARS } from "../../core/sandbox/answer_parser.ts";
import { FrameError } from "../../core/sandbox/protocol.ts";

/** Strings that trip a naive scanner: quotes, escapes, brackets and commas inside strings. */
const TRICKY = ['a"b', "back\\slash\\", "[not,an:array]", "{not: an object}", "\\\\", "é ü 😀", ""];

function frame(value: unknown): string {
  return JSON.stringify({ type: "result", id: 7, value });
}

Deno.test("parseAnswer() returns what JSON.parse returns, for small and sliced frames", async (t) => {
  const cases: [string, unknown][] = [
    ["a small result", [{ key: "a", value: "b", data_type: "string", secret: false }]],
    [
      "a large array of small items",
      Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, value: TRICKY[i % 7] })),
    ],
    ["a large object with many members", Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))],
    ["items larger than a slice", Array.from({ length: 5 }, (_, i) => ({ big: "x".repeat(SLICE_CHARS + i) }))],
    ["one string larger than a slice", "y".repeat(3 * SLICE_CHARS)],
    ["mixed nesting", { a: [1, [2, [3, { b: "x".repeat(SLICE_CHARS) }]], null, true, false, -1.5e3], c: TRICKY }],
  ];
  for (const [name, value] of cases) {
    await t.step(name, async () => {
      const text = frame(value);
      assert.deepEqual(await parseAnswer(text), JSON.parse(text));
      assert.deepEqual(await parseAnswer(` \n${text}\t `), JSON.parse(text));
    });
  }

  await t.step("a __proto__ member stays an own property, as with JSON.parse", async () => {
    const members = Array.from({ length: 5000 }, (_, i) => `"k${i}":${i}`).join(",");
    const text = `{${members},"__proto__":{"polluted":true}}`;
    const parsed = await parseAnswer(text) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(parsed, "__proto__")?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  await t.step("a large frame lets timers run between slices", async () => {
    const text = frame(Array.from({ length: 200_000 }, (_, i) => ({ key: `key-${i}`, value: "v".repeat(40) })));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      await parseAnswer(text);
    } finally {
      clearInterval(timer);
    }
    assert.ok(ticks > 0, "no timer ran while a 10 MB frame was parsed");
  });
});

Deno.test("parseAnswer() refuses frames nested too deep and text that is not JSON", async (t) => {
  await t.step("depth: small and sliced frames, arrays and objects", async () => {
    const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
    checkDepth(deep(64));
    assert.throws(() => checkDepth(deep(65)), (e: unknown) => e instanceof FrameError && e.reason === "too_large");
    assert.throws(() => parseWhole(`{"a":${deep(64)}}`), /nests deeper than 64 levels/);
    assert.deepEqual(parseWhole(`{"a":${deep(63)}}`), JSON.parse(`{"a":${deep(63)}}`));
    const padded = frame(["x".repeat(SLICE_CHARS), JSON.parse(deep(62))]);
    assert.deepEqual(await parseAnswer(padded), JSON.parse(padded));
    const tooDeep = frame(["x".repeat(SLICE_CHARS), JSON.parse(deep(63))]);
    await assert.rejects(parseAnswer(tooDeep), /nests deeper than 64 levels/);
    const objects = `{"pad":"${"x".repeat(SLICE_CHARS)}","v":${'{"a":'.repeat(70)}1${"}".repeat(70)}}`;
    await assert.rejects(parseAnswer(objects), (e: unknown) => e instanceof FrameError && e.reason === "too_large");
    assert.deepEqual(parseWhole('["[[[[", "]]]]"]'), ["[[[[", "]]]]"]);
  });

  await t.step("malformed text", async () => {
    const big = "x".repeat(SLICE_CHARS);
    for (
      const text of [
        `[${JSON.stringify(big)}, oops]`,
        `{"a":${JSON.stringify(big)} "b":1}`,
        `[${JSON.stringify(big)}`,
        `[${JSON.stringify(big)}] trailing`,
        `{${JSON.stringify(big)}}`,
        `"${big}`,
      ]
    ) {
      await assert.rejects(
        parseAnswer(text),
        (e: unknown) => e instanceof FrameError && e.reason === "malformed",
        text.slice(0, 20) + "…" + text.slice(-20),
      );
    }
    assert.throws(() => parseWhole("{nope}"), (e: unknown) => e instanceof FrameError && e.reason === "malformed");
  });
});

Deno.test("parseAnswer() walks a container of megabytes without scanning it whole first, and still checks it all", async (t) => {
  const big = (last: string) => `[${Array.from({ length: 30_000 }, (_, i) => `{"k":${i}}`).join(",")},${last}]`;
  const deep = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

  await t.step("the value is JSON.parse's, nested containers of megabytes included", async () => {
    const text = `{"type":"result","id":1,"value":{"a":${big("1")},"b":[${big('"x"')},${big("null")}]}}`;
    assert.ok(text.length > 10 * SLICE_CHARS);
    assert.deepEqual(await parseAnswer(text), JSON.parse(text));
  });

  await t.step("a value nested too deep at the end of a large array or member is refused", async () => {
    for (const text of [`{"value":${big(deep(70))}}`, `{"value":{"a":${big("1")},"z":${deep(70)}}}`]) {
      await assert.rejects(parseAnswer(text), (e: unknown) => e instanceof FrameError && e.reason === "too_large");
    }
  });

  await t.step("a large array left open is refused", async () => {
    const text = `{"value":${big("1").slice(0, -1)}}`;
    await assert.rejects(parseAnswer(text), (e: unknown) => e instanceof FrameError && e.reason === "malformed");
  });

  await t.step("random nesting around large containers gives what JSON.parse gives", async () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let budget = 0; // large containers left in the case being made
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 5 || r < 0.3) return [1, ...TRICKY, true, null, -2.5e3][Math.floor(random() * 10)];
      const large = depth < 3 && budget > 0 && random() < 0.3 && budget-- > 0;
      const n = large ? 3000 + Math.floor(random() * 3000) : Math.floor(random() * 6);
      if (r < 0.65) return Array.from({ length: n }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(depth + 1)]));
    };
    for (let i = 0; i < 20; i++) {
      budget = 3;
      const text = JSON.stringify(
        { type: "result", id: i, value: value(0), tail: value(1) },
        null,
        i % 3 ? undefined : 1,
      );
      assert.deepEqual(await parseAnswer(text), JSON.parse(text), `case ${i}`);
    }
  });
});
