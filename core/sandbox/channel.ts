/**
 * The socket each plugin process's channel runs over (`docs/sandbox.md`,
 * "The channel"): a fresh path per process in a directory of this service's
 * own, listened on until the one child it was made for has connected. The
 * frames on it are `protocol.ts`'s; the process around it is `process.ts`'s.
 *
 * @module
 */

import { toHex } from "../encoding.ts";
import { makePrivateTempDirSync } from "./confine.ts";

/** Longest socket path Linux takes (`sun_path` is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;
let channelDir: string | null = null;

/**
 * The directory of the channels' sockets: this service's own (mode 0700,
 * removed at exit), made on first use. The service makes it at start-up, so
 * a `TMPDIR` too long for a socket path stops the start instead of every
 * plugin call.
 *
 * @returns Its path.
 * @throws {Error} When a socket path in it would be longer than Linux allows, or would hold a comma.
 */
export function channelDirectory(): string {
  if (channelDir !== null) return channelDir;
  const dir = makePrivateTempDirSync("imbi-channels-");
  const longest = `${dir}/${"0".repeat(16)}.sock`;
  if (new TextEncoder().encode(longest).length > MAX_SOCKET_PATH || /[,\n\0]/.test(dir)) {
    Deno.removeSync(dir);
    throw new Error(
      `TMPDIR is too long for a plugin channel's socket path (${JSON.stringify(longest)} is over ${MAX_SOCKET_PATH} ` +
        "bytes, or holds a comma): set TMPDIR to a directory of 50 characters or fewer",
    );
  }
  return channelDir = dir;
}

/**
 * Listens on a fresh Unix socket for one plugin process's channel, in
 * {@linkcode channelDirectory}: no other user can connect, and no plugin
 * process may (each is granted its own path alone, until it has connected).
 *
 * @returns The socket's path and its listener.
 */
export function listenChannel(): { path: string; listener: Deno.UnixListener } {
  const path = `${channelDirectory()}/${toHex(crypto.getRandomValues(new Uint8Array(8)))}.sock`;
  return { path, listener: Deno.listen({ transport: "unix", path }) };
}

/**
 * Accepts the one connection a channel's child makes, then stops listening
 * and removes the path.
 *
 * @param channel What {@linkcode listenChannel} returned.
 * @param exited Settles when the child has exited.
 * @returns The connection, or null when the child exited first.
 */
export async function acceptChild(
  channel: { path: string; listener: Deno.UnixListener },
  exited: Promise<unknown>,
): Promise<Deno.UnixConn | null> {
  const stop = () => {
    try {
      channel.listener.close();
    } catch {
      // Closed already.
    }
  };
  void exited.then(stop);
  try {
    return await channel.listener.accept();
  } catch {
    return null;
  } finally {
    stop();
    await Deno.remove(channel.path).catch(() => {});
  }
}
