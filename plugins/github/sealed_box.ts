/**
 * libsodium's `crypto_box_seal`, which GitHub requires for secret values:
 * an ephemeral X25519 key pair, a nonce of BLAKE2b-192(ephemeral public key
 * || recipient public key), and `crypto_box` (X25519 + XSalsa20-Poly1305)
 * from tweetnacl. The output is the ephemeral public key followed by the box.
 *
 * @module
 */

import nacl from "tweetnacl";
import { blake2b } from "@noble/hashes/blake2";

/**
 * The sealed-box nonce: BLAKE2b with a 24-byte output over both public keys.
 *
 * @param ephemeralPublicKey The sender's one-time public key.
 * @param recipientPublicKey The recipient's public key.
 * @returns 24 bytes.
 */
export function sealNonce(ephemeralPublicKey: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(ephemeralPublicKey, 0);
  input.set(recipientPublicKey, 32);
  return blake2b(input, { dkLen: 24 });
}

/**
 * Seals a message for a recipient public key (anonymous sender).
 *
 * @param message The plaintext.
 * @param recipientPublicKey The recipient's 32-byte X25519 public key.
 * @returns `ephemeral public key || box`, 48 bytes longer than the message.
 * @throws {RangeError} When the key is not 32 bytes.
 */
export function seal(message: Uint8Array, recipientPublicKey: Uint8Array): Uint8Array {
  if (recipientPublicKey.length !== 32) throw new RangeError("The recipient public key must be 32 bytes");
  const ephemeral = nacl.box.keyPair();
  const boxed = nacl.box(
    message,
    sealNonce(ephemeral.publicKey, recipientPublicKey),
    recipientPublicKey,
    ephemeral.secretKey,
  );
  const out = new Uint8Array(32 + boxed.length);
  out.set(ephemeral.publicKey, 0);
  out.set(boxed, 32);
  ephemeral.secretKey.fill(0);
  return out;
}

/**
 * Opens a sealed box (what GitHub does with the private key; used by tests).
 *
 * @param sealed `ephemeral public key || box`.
 * @param publicKey The recipient's public key.
 * @param secretKey The recipient's secret key.
 * @returns The plaintext, or null when the box does not open.
 */
export function openSealed(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null {
  if (sealed.length < 48) return null;
  const ephemeral = sealed.subarray(0, 32);
  return nacl.box.open(sealed.subarray(32), sealNonce(ephemeral, publicKey), ephemeral, secretKey);
}
