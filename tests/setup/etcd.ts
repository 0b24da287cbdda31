/**
 * Test service: a real etcd v3 server (Debian package `etcd-server`) on
 * loopback, with its JSON gRPC gateway on the client URL.
 *
 * Install: reuses an `etcd` binary on the PATH, else runs
 * `apt-get install etcd-server` (and `apt-get update` first if that fails).
 *
 * Start: one member with its data directory under the cache directory,
 * client and peer URLs on free loopback ports. Authentication stays off
 * here: the etcd plugin's auth tests enable it on their own etcd process
 * started through {@linkcode startEtcd}.
 *
 * Exports `IMBI_TEST_ETCD_URL` (`http://127.0.0.1:<port>`) and
 * `IMBI_TEST_ETCD_BIN` (the binary, for tests that start their own member).
 *
 * @module
 */

import { debianService } from "./service.ts";
import { freePort } from "../support/local.ts";

const ETCD_COMMANDS = ["etcd", "/usr/bin/etcd"];

/** A running etcd member. */
export interface EtcdProcess {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts one etcd member on free loopback ports and waits until it answers.
 *
 * @param binary The etcd binary.
 * @param dataDir A fresh data directory (created; removed on stop).
 * @returns Its client URL and a stop function.
 */
export async function startEtcd(binary: string, dataDir: string): Promise<EtcdProcess> {
  const clientPort = freePort();
  const peerPort = freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dataDir, { recursive: true });
  const child = new Deno.Command(binary, {
    args: [
      "--name=imbi-test",
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=imbi-test=${peer}`,
      "--log-level=error",
    ],
    env: { ETCD_UNSUPPORTED_ARCH: "" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`${url}/v3/kv/range`, { method: "POST", body: JSON.stringify({ key: "AA==" }) });
      await response.body?.cancel();
      if (response.ok) return { url, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(exited ? "etcd exited during start" : "etcd did not answer within 30 s");
}

/** etcd v3 on loopback. */
export const service = debianService("etcd", {
  debianPackage: "etcd-server",
  commands: ETCD_COMMANDS,
  async start(binary, cacheDir, progress) {
    const member = await startEtcd(binary, `${cacheDir}/etcd-data-${Deno.pid}`);
    progress(`listening on ${member.url}`);
    return { env: { IMBI_TEST_ETCD_URL: member.url, IMBI_TEST_ETCD_BIN: binary }, stop: member.stop };
  },
});
