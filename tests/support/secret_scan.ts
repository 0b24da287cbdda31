/**
 * The secret scanner of the end-to-end suite: every credential value a test
 * writes is made by {@linkcode makeSecret}, and every response body and log
 * line the suite produces passes through {@linkcode scanForSecrets}, which
 * fails the test that produced it when any registered secret appears.
 *
 * @module
 */

import { setLogSink } from "../../core/logger.ts";

const secrets = new Set<string>();
const logLines: string[] = [];
let scanned = { responses: 0, logLines: 0 };

/**
 * A fresh, recognisable secret value, registered for scanning.
 *
 * @param label Part of the value, to tell secrets apart in a failure.
 * @returns The secret.
 */
export function makeSecret(label: string): string {
  const value = `sekret-${label}-${crypto.randomUUID()}`;
  secrets.add(value);
  return value;
}

/**
 * Throws when any registered secret (or its base64 or URI encoding) appears in the text.
 *
 * @param text A response body or a log line.
 * @param where What it was, for the failure message.
 */
export function scanForSecrets(text: string, where: string): void {
  for (const secret of secrets) {
    for (const form of [secret, btoa(secret), encodeURIComponent(secret)]) {
      if (text.includes(form)) throw new Error(`a credential leaked into ${where}: ${text.slice(0, 200)}`);
    }
  }
}

/** Counts of what was scanned in this test process. */
export function scanStats(): { responses: number; logLines: number; secrets: number } {
  return { ...scanned, secrets: secrets.size };
}

/** Records that a response body was scanned. */
export function countResponse(): void {
  scanned.responses++;
}

/** Log lines captured in this process (for tests that assert on logging). */
export function capturedLogs(): readonly string[] {
  return logLines;
}

let installed = false;

/** Routes every log line of this test process through the scanner (once). */
export function installLogScanner(): void {
  if (installed) return;
  installed = true;
  const verbose = Deno.env.get("IMBI_TEST_LOGS") === "1";
  setLogSink((line) => {
    scanned.logLines++;
    logLines.push(line);
    if (logLines.length > 20_000) logLines.splice(0, 10_000);
    if (verbose) Deno.stderr.writeSync(new TextEncoder().encode(line + "\n"));
    scanForSecrets(line, "a log line");
  });
  scanned = { responses: 0, logLines: 0 };
}
