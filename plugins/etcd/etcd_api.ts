/**
 * Test support for the etcd plugin: raw calls to an etcd member's v3 JSON
 * gateway, for tests that seed keys or switch authentication on around the
 * plugin. Not part of the plugin's bundle.
 *
 * @module
 */

/**
 * A client of one member's JSON gateway.
 *
 * @param url The member's client URL, e.g. `http://127.0.0.1:2379`.
 * @returns A function that POSTs `body` as JSON to `path` (e.g. `/v3/kv/put`)
 *   and returns the answer, failing when the answer holds an `error`.
 */
export function etcdApi(url: string): (path: string, body: unknown) => Promise<Record<string, unknown>> {
  return async (path, body) => {
    const response = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
    const doc = await response.json();
    if (doc.error) throw new Error(`${path}: ${doc.error}`);
    return doc;
  };
}
