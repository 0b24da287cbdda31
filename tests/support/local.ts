/**
 * Small helpers the test services and benchmarks share.
 *
 * @module
 */

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).
 *
 * @returns The port number.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Whether a path exists.
 *
 * @param path A file or directory.
 * @returns True when `stat` succeeds.
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
