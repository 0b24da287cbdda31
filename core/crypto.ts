/**
 * Credential encryption (spec section 8): AES-256-GCM through Web Crypto, a
 * fresh 96-bit nonce per value, ciphertext tagged with the key id so keys can
 * rotate. The additional authenticated data binds a ciphertext to where it is
 * stored (org, service, application, field), so a value copied to another
 * application does not decrypt.
 *
 * Format: `v1.<kid>.<base64url nonce>.<base64url ciphertext+tag>`.
 *
 * @module
 */

import { log } from "./logger.ts";
import { fromBase64, toBase64 } from "./encoding.ts";

const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A set of keys: the first encrypts, all of them decrypt. */
export class Keyring {
  #keys: Map<string, CryptoKey>;
  #current: string;

  private constructor(keys: Map<string, CryptoKey>, current: string) {
    this.#keys = keys;
    this.#current = current;
  }

  /**
   * Builds a keyring from `kid:base64key` pairs, newest first (the
   * `IMBI_ENCRYPTION_KEYS` format). Each key is 32 bytes.
   *
   * @param spec Comma-separated `kid:base64` pairs.
   * @returns The keyring.
   * @throws {RangeError} Naming the malformed pair (never echoing key material).
   */
  static async parse(spec: string): Promise<Keyring> {
    const keys = new Map<string, CryptoKey>();
    let current: string | undefined;
    for (const [i, pair] of spec.split(",").map((p) => p.trim()).filter(Boolean).entries()) {
      const colon = pair.indexOf(":");
      const kid = pair.slice(0, colon);
      if (colon < 1 || !KID_PATTERN.test(kid)) {
        throw new RangeError(`key ${i + 1} must look like "kid:base64key" with a kid of letters, digits, _ or -`);
      }
      let raw: Uint8Array<ArrayBuffer>;
      try {
        raw = fromBase64(pair.slice(colon + 1));
      } catch {
        throw new RangeError(`key "${kid}" is not valid base64`);
      }
      if (raw.length !== 32) throw new RangeError(`key "${kid}" must be 32 bytes (AES-256), not ${raw.length}`);
      if (keys.has(kid)) throw new RangeError(`key id "${kid}" appears twice`);
      keys.set(kid, await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
      current ??= kid;
    }
    if (current === undefined) throw new RangeError("no key given");
    return new Keyring(keys, current);
  }

  /**
   * Makes a fresh random key in the `kid:base64key` format.
   *
   * @param kid The key id.
   * @returns The pair, ready for `IMBI_ENCRYPTION_KEYS`.
   */
  static generate(kid = `k${Date.now().toString(36)}`): string {
    return `${kid}:${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
  }

  /** The id of the key new values are encrypted with. */
  get currentKid(): string {
    return this.#current;
  }

  /**
   * Encrypts one value with the current key.
   *
   * @param plaintext The secret.
   * @param context Where it is stored; the same context is needed to decrypt.
   * @returns The tagged ciphertext.
   */
  async encrypt(plaintext: string, context: string): Promise<string> {
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const key = this.#keys.get(this.#current)!;
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: encoder.encode(context) },
      key,
      encoder.encode(plaintext),
    );
    return `v1.${this.#current}.${toBase64Url(nonce)}.${toBase64Url(new Uint8Array(sealed))}`;
  }

  /**
   * Decrypts a value made by {@linkcode Keyring.encrypt} with any key of the ring.
   *
   * @param ciphertext The tagged ciphertext.
   * @param context The context it was encrypted with.
   * @returns The plaintext.
   * @throws {DecryptionError} When the key id is unknown or the value or context does not authenticate.
   */
  async decrypt(ciphertext: string, context: string): Promise<string> {
    const parts = ciphertext.split(".");
    if (parts.length !== 4 || parts[0] !== "v1") throw new DecryptionError("unknown ciphertext format", undefined);
    const kid = parts[1]!;
    const key = this.#keys.get(kid);
    if (!key) throw new DecryptionError(`no key with id "${kid}" is configured`, kid);
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64Url(parts[2]!), additionalData: encoder.encode(context) },
        key,
        fromBase64Url(parts[3]!),
      );
      return decoder.decode(plain);
    } catch (cause) {
      throw new DecryptionError("the value does not authenticate with its key and context", kid, { cause });
    }
  }

  /**
   * The key id a ciphertext was made with.
   *
   * @param ciphertext A tagged ciphertext.
   * @returns The key id, or undefined for an unknown format.
   */
  static kidOf(ciphertext: string): string | undefined {
    const parts = ciphertext.split(".");
    return parts.length === 4 && parts[0] === "v1" ? parts[1] : undefined;
  }
}

/** A stored credential could not be decrypted (a missing key, or tampering). */
export class DecryptionError extends Error {
  override name = "DecryptionError";
  /** The key id the value names, if readable. */
  readonly kid: string | undefined;
  constructor(message: string, kid: string | undefined, options?: ErrorOptions) {
    super(`Cannot decrypt credential: ${message}`, options);
    this.kid = kid;
  }
}

/** Where the keyring comes from. */
export interface KeyProvider {
  load(): Promise<Keyring>;
}

/**
 * The key provider for a configuration: the environment when
 * `IMBI_ENCRYPTION_KEYS` is set; otherwise, on the embedded store only, a key
 * file created in the data directory (and said so in the log).
 *
 * @param options What was configured.
 * @returns The provider.
 */
export function keyProvider(options: {
  keys: string | undefined;
  dataDir: string;
  allowGenerated: boolean;
}): KeyProvider {
  return {
    async load() {
      if (options.keys) return await Keyring.parse(options.keys);
      if (!options.allowGenerated) {
        throw new RangeError("IMBI_ENCRYPTION_KEYS must be set when the graph store is Neo4j");
      }
      const path = `${options.dataDir}/encryption.keys`;
      try {
        return await Keyring.parse(await Deno.readTextFile(path));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      await Deno.mkdir(options.dataDir, { recursive: true });
      const fresh = Keyring.generate("k1");
      await Deno.writeTextFile(path, fresh + "\n", { mode: 0o600, createNew: true });
      log.warn("created an encryption key for credentials; back it up or set IMBI_ENCRYPTION_KEYS", { path });
      return await Keyring.parse(fresh);
    },
  };
}

function toBase64Url(bytes: Uint8Array): string {
  return toBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") + "===".slice((text.length + 3) % 4);
  return fromBase64(padded);
}
