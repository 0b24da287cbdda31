/**
 * Secret scrubbing: a plugin process holds its node's decrypted credentials,
 * so every text that leaves it (error messages, stderr lines, answers) is
 * run through a redactor made from those credentials before the host logs
 * or returns it.
 *
 * Each credential value (and each line of a multi-line one) is caught as
 * written, JSON-escaped, upper- or lower-cased (any case), as
 * URL-encoding (`%2F` or `%2f`, `+` or `%20` for a space), as hex (either
 * case), and as base64 or base64url (padded or not, alone or at any byte
 * offset inside a longer base64 text). What it cannot catch (a value split
 * across fields, reversed, other encodings, encryption) is listed in `docs/sandbox.md`.
 * The needles are computed once per redactor (once per supervisor); a text
 * without a credential costs one lower-casing and two quick searches for the
 * shortest needles, and only a text that may hold one gets the replacing passes.
 *
 * @module
 */

import { toHex } from "../encoding.ts";

/** What a credential value is replaced with. */
export const REDACTED = "[redacted]";

/** Values shorter than this are left alone: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** A base64 fragment of a value inside a longer base64 text is only looked for when at least this long. */
const MIN_BASE64_FRAGMENT = 8;

const encoder = new TextEncoder();

/**
 * Makes a function that replaces every credential value (4 characters or
 * more, each line of a multi-line value too) in any of the forms listed in
 * the module documentation with {@linkcode REDACTED}.
 *
 * @param credentials The node's decrypted credentials, by field name.
 * @returns The redactor; at each position the longest form is replaced.
 * @example
 * ```ts
 * const redact = makeRedactor({ token: "tok-123456" });
 * redact("401 for tok-123456"); // "401 for [redacted]"
 * redact(btoa("tok-123456")); // "[redacted]"
 * ```
 */
export function makeRedactor(credentials: Record<string, string>): (text: string) => string {
  const anyCase = new Set<string>();
  const exact = new Set<string>();
  for (const value of Object.values(credentials)) {
    if (typeof value !== "string") continue;
    for (const piece of [value, ...value.split(/\r?\n/).map((line) => line.trim())]) {
      if (piece.length < MIN_SECRET_LENGTH) continue;
      const bytes = encoder.encode(piece);
      for (
        const form of [
          piece,
          JSON.stringify(piece).slice(1, -1),
          encodeURIComponent(piece),
          encodeURIComponent(piece).replaceAll("%20", "+"),
          toHex(bytes),
        ]
      ) anyCase.add(form);
      for (const form of base64Forms(bytes)) exact.add(form);
    }
  }
  const insensitive = alternation(anyCase, "gi");
  const sensitive = alternation(exact, "g");
  // Most texts hold no credential: a quick search for the shortest needles tells, and gates each pass.
  const anyCaseFound = alternation(minimal([...anyCase].map((n) => n.toLowerCase())), "");
  const exactNeedles = [...minimal([...exact])];
  return (text: string) => {
    let out = text;
    if (insensitive && anyCaseFound!.test(text.toLowerCase())) out = out.replace(insensitive, REDACTED);
    if (sensitive && exactNeedles.some((n) => out.includes(n))) out = out.replace(sensitive, REDACTED);
    return out;
  };
}

/** The needles that hold no shorter one: wherever a longer one is found, a shorter one inside it is too. */
function minimal(needles: string[]): Set<string> {
  const distinct = [...new Set(needles)].sort((a, b) => a.length - b.length);
  return new Set(distinct.filter((needle, i) => !distinct.slice(0, i).some((shorter) => needle.includes(shorter))));
}

/** One regular expression matching any of the needles, longest first; undefined for none. */
function alternation(needles: Set<string>, flags: string): RegExp | undefined {
  if (needles.size === 0) return undefined;
  const ordered = [...needles].sort((a, b) => b.length - a.length);
  return new RegExp(ordered.map((n) => n.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")).join("|"), flags);
}

/**
 * The base64 and base64url forms of a value: its whole encoding (padded and
 * not), and for each of the three byte offsets it may sit at inside a longer
 * encoded text, the characters that depend on its bytes alone.
 */
function base64Forms(bytes: Uint8Array): string[] {
  const forms: string[] = [];
  const whole = btoa(String.fromCharCode(...bytes));
  forms.push(whole, whole.replace(/=+$/, ""));
  for (let shift = 1; shift <= 2; shift++) {
    const shifted = new Uint8Array(shift + bytes.length);
    shifted.set(bytes, shift);
    const encoded = btoa(String.fromCharCode(...shifted));
    const bits = 8 * (shift + bytes.length);
    const fragment = encoded.slice(Math.ceil((8 * shift) / 6), Math.floor(bits / 6));
    if (fragment.length >= MIN_BASE64_FRAGMENT) forms.push(fragment);
  }
  const bare = whole.replace(/=+$/, "");
  const aligned = bare.slice(0, Math.floor((8 * bytes.length) / 6));
  if (aligned.length >= MIN_BASE64_FRAGMENT) forms.push(aligned);
  return [...forms, ...forms.map((f) => f.replaceAll("+", "-").replaceAll("/", "_"))];
}
