/**
 * Secret scrubbing: a plugin process holds its node's decrypted credentials,
 * so every text that leaves it (error messages, stderr lines, answers) is
 * run through a redactor made from those credentials before the host logs
 * or returns it.
 *
 * @module
 */

/** What a credential value is replaced with. */
export const REDACTED = "[redacted]";

/** Values shorter than this are left alone: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;

/**
 * Makes a function that replaces every credential value (4 characters or
 * more, each line of a multi-line value too, and their JSON-escaped forms)
 * with {@linkcode REDACTED}.
 *
 * @param credentials The node's decrypted credentials, by field name.
 * @returns The redactor; longer secrets are replaced first.
 * @example
 * ```ts
 * const redact = makeRedactor({ token: "tok-123456" });
 * redact("401 for tok-123456"); // "401 for [redacted]"
 * ```
 */
export function makeRedactor(credentials: Record<string, string>): (text: string) => string {
  const secrets = new Set<string>();
  for (const value of Object.values(credentials)) {
    if (typeof value !== "string") continue;
    for (const piece of [value, ...value.split(/\r?\n/).map((line) => line.trim())]) {
      if (piece.length < MIN_SECRET_LENGTH) continue;
      secrets.add(piece);
      secrets.add(JSON.stringify(piece).slice(1, -1));
    }
  }
  const ordered = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const secret of ordered) out = out.replaceAll(secret, REDACTED);
    return out;
  };
}
