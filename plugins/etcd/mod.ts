/**
 * `@imbi/plugin-etcd`: the `etcd` configuration plugin (etcd v3 through its
 * JSON gateway, optional user/password authentication).
 *
 * @module
 */

import { EtcdConfiguration } from "./etcd.ts";

export { EtcdConfiguration, etcdError } from "./etcd.ts";

/** The entry points of this package. */
export const plugins = [EtcdConfiguration];
