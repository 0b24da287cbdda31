/**
 * The HTTP side of the registry clients (`npm.ts`, `jsr.ts`): every request
 * carries its registry's credential (from `IMBI_NPMRC`), has a deadline
 * (`IMBI_REGISTRY_TIMEOUT`, the body included), and is retried a bounded
 * number of times (`IMBI_REGISTRY_RETRIES`) with exponential back-off when
 * the network fails, the deadline passes, or the registry answers 408, 429
 * or 5xx (honouring `Retry-After`). Credentials never appear in a message.
 *
 * @module
 */

import { PackageError } from "../errors.ts";
import { log } from "../logger.ts";
import { nerfDart, RegistryAuth } from "./npmrc.ts";

/** Progress of a download: bytes so far and the total when the server said it. */
export type DownloadProgress = (received: number, total: number | undefined) => void;

/** Options of {@linkcode RegistryClient}. */
export interface RegistryClientOptions {
  /** Per-registry credentials. Default: none. */
  auth?: RegistryAuth;
  /** Deadline of one attempt, body included, ms. Default 30 000. */
  timeoutMs?: number;
  /** Attempts after the first. Default 2. */
  retries?: number;
  /** First back-off, ms; doubles per attempt, at most 10 s. Default 500. */
  backoffMs?: number;
  /** Waits between attempts; tests pass one that records. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** What a registry answered, body read. */
export interface RegistryResponse {
  /** The HTTP status (2xx or a 4xx that is not 401, 403, 408 or 429). */
  status: number;
  /** The response headers. */
  headers: Headers;
  /** The body. */
  bytes: Uint8Array;
}

/** Options of one request. */
export interface GetOptions {
  /** Names what is fetched in messages, e.g. `npm:@scope/name`. */
  label: string;
  /** Names the registry in messages, e.g. `the npm registry https://registry.npmjs.org/`. */
  registry: string;
  /** The `Accept` header. */
  accept?: string;
  /** Called as body bytes arrive. */
  onProgress?: DownloadProgress;
  /** The most bytes the body may have; a bigger one is refused. */
  maxBytes?: number;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const MAX_BACKOFF_MS = 10_000;

class Retryable extends Error {}

/** Removes credentials and the query from a URL for messages. */
function shown(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/** HTTP GETs to package registries with credentials, deadlines and retries. */
export class RegistryClient {
  #auth: RegistryAuth;
  #timeoutMs: number;
  #retries: number;
  #backoffMs: number;
  #sleep: (ms: number) => Promise<void>;

  /**
   * Makes a client.
   *
   * @param options Credentials, deadline, retries and back-off; every field has a default.
   */
  constructor(options: RegistryClientOptions = {}) {
    this.#auth = options.auth ?? new RegistryAuth();
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#retries = options.retries ?? 2;
    this.#backoffMs = options.backoffMs ?? 500;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * GETs a URL and reads its body, retrying what may succeed on a later try.
   *
   * @param url The URL.
   * @param options The label for messages, `Accept`, progress, and a body size limit.
   * @returns The final answer (2xx, or a 4xx the caller words: 404, 410, ...).
   * @throws {PackageError} kind `registry` when every attempt failed (naming the last failure and how many
   *   attempts), or the registry refused the credentials (401, 403: saying which `IMBI_NPMRC` key it needs);
   *   kind `refused` when the body is larger than `maxBytes`.
   */
  async get(url: string, options: GetOptions): Promise<RegistryResponse> {
    const attempts = this.#retries + 1;
    let lastProblem = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.#attempt(url, options);
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        lastProblem = error.message;
        const retryAfter = Number((error.cause as Headers | undefined)?.get("retry-after"));
        if (attempt === attempts) break;
        const backoff = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2 ** (attempt - 1));
        const wait = Number.isFinite(retryAfter) && retryAfter > 0
          ? Math.min(MAX_BACKOFF_MS, retryAfter * 1000)
          : backoff / 2 + Math.random() * (backoff / 2);
        log.warn("registry request failed; retrying", {
          url: shown(url),
          attempt,
          of: attempts,
          problem: lastProblem,
          retry_in_ms: Math.round(wait),
        });
        await this.#sleep(wait);
      }
    }
    const tries = `${attempts} attempt${attempts > 1 ? "s" : ""}`;
    throw new PackageError(
      "registry",
      `Cannot reach ${options.registry} for ${options.label} (${shown(url)}): ${lastProblem} (${tries})`,
    );
  }

  async #attempt(url: string, options: GetOptions): Promise<RegistryResponse> {
    const headers: Record<string, string> = {};
    if (options.accept) headers.accept = options.accept;
    const authorization = this.#auth.headerFor(url);
    if (authorization) headers.authorization = authorization;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { headers, signal });
    } catch (error) {
      throw new Retryable(this.#failure(error));
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      const key = this.#auth.keyFor(url);
      throw new PackageError(
        "registry",
        `${options.registry} refused ${options.label} (${res.status} for ${shown(url)}): ` +
          (key
            ? `the credential for ${key} in IMBI_NPMRC was not accepted`
            : `it needs a credential: add ${nerfDart(url)}:_authToken=... to the .npmrc IMBI_NPMRC names`),
      );
    }
    if (RETRY_STATUS.has(res.status)) {
      await res.body?.cancel();
      throw new Retryable(`the registry answered ${res.status}`, { cause: res.headers });
    }
    try {
      return { status: res.status, headers: res.headers, bytes: await readBody(res, options) };
    } catch (error) {
      if (error instanceof PackageError) throw error;
      throw new Retryable(this.#failure(error));
    }
  }

  #failure(error: unknown): string {
    const name = (error as Error)?.name;
    if (name === "TimeoutError" || name === "AbortError") return `no answer within ${this.#timeoutMs} ms`;
    return error instanceof Error ? error.message : String(error);
  }
}

async function readBody(res: Response, options: GetOptions): Promise<Uint8Array> {
  const header = res.headers.get("content-length");
  const total = header ? Number(header) : undefined;
  const tooLarge = () =>
    new PackageError("refused", `Refusing ${options.label}: the download is larger than ${options.maxBytes} bytes`);
  if (options.maxBytes !== undefined && total !== undefined && total > options.maxBytes) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      chunks.push(chunk);
      received += chunk.length;
      if (options.maxBytes !== undefined && received > options.maxBytes) throw tooLarge();
      options.onProgress?.(received, total);
    }
  }
  const out = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
