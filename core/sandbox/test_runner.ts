/**
 * A {@linkcode HandlerRunner} that runs a handler inside the real Imbi
 * sandbox: the package is bundled by the host's package store exactly as
 * an install would, its manifest is read by the permission-less inspector,
 * the options are validated with defaults applied, the `--allow-net` list
 * is computed from the manifest's `network.hosts`, and a supervisor starts
 * the plugin process. What passes here passes in the service.
 *
 * This module drives the host's own sandbox, so it runs in an Imbi checkout
 * (the workspace this SDK lives in); plugin packages use it from their tests.
 *
 * @module
 */

import { compileOptionsSchema } from "../validation.ts";
import { parseManifest } from "../packages/manifest.ts";
import { computeNetHosts } from "./network_hosts.ts";
import { loadConfig } from "../config.ts";
import { packageStoreFor } from "../packages/store.ts";
import { inspectBundle } from "./inspect.ts";
import { Supervisor } from "./supervisor.ts";
import type { HandlerRunner } from "@imbi/plugin-sdk/testing";
import { completeInit, HandlerCallError, type TestInit } from "@imbi/plugin-sdk/testing";
import type { PluginManifest, ProtocolMethod } from "@imbi/plugin-sdk/types";

/** Options of {@linkcode runInSandbox}. */
export interface SandboxRunOptions extends TestInit {
  /** The manifest slug of the entry point to run. */
  entry: string;
  /**
   * Replaces the computed `--allow-net` list. Only for tests that prove the
   * allow-list holds (give a list that omits the host the handler needs).
   */
  netHosts?: string[];
  /** Per-call deadline (default: the manifest's `timeout_ms`, else 10 000 ms). */
  timeoutMs?: number;
}

/** A sandboxed runner, with what it was started with. */
export interface SandboxRunner extends HandlerRunner {
  /** The exact `host:port` entries the plugin process may reach. */
  readonly netHosts: string[];
  /** The single-file bundle the process loads. */
  readonly bundlePath: string;
  /** The options after validation and defaults. */
  readonly options: Record<string, unknown>;
}

/** A bundled package and the manifests of its entry points. */
export interface BundledPlugin {
  /** The package name, e.g. `@imbi/plugin-aws`. */
  name: string;
  /** Its exact version. */
  version: string;
  /** Absolute path of its single-file bundle. */
  bundlePath: string;
  /** The valid manifest of every entry point, in export order. */
  manifests: PluginManifest[];
}

let storeDir: string | undefined;
const bundles = new Map<string, Promise<BundledPlugin>>();

function dataDir(): string {
  if (!storeDir) {
    storeDir = Deno.makeTempDirSync({ prefix: "imbi_plugin_testkit_" });
    const dir = storeDir;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
  }
  return storeDir;
}

function where(pkg: string | URL): string {
  if (pkg instanceof URL) return decodeURIComponent(pkg.pathname).replace(/\/$/, "");
  return pkg;
}

/**
 * Fetches (or, for a directory, hashes), verifies and bundles a plugin
 * package with the host's package store, then reads its manifests in the
 * permission-less inspector. Memoised per package in this process. The
 * registries are the service's settings (`NPM_CONFIG_REGISTRY`, ... see the
 * README's configuration table); paths are relative to the working directory.
 *
 * @param pkg A package directory (path or `file:` URL) or an `npm:`/`jsr:` specifier.
 * @returns The bundle and every valid manifest it exports.
 * @throws {Error} When the package cannot be bundled, inspected, or exports an invalid manifest.
 */
export function bundlePlugin(pkg: string | URL): Promise<BundledPlugin> {
  const key = where(pkg);
  let pending = bundles.get(key);
  if (!pending) {
    pending = (async () => {
      // The registries (and their settings) are the service's, read from the same variables; the age policy is
      // off because an author checks what they just wrote.
      const store = packageStoreFor({
        ...loadConfig(Deno.env.toObject()),
        dataDir: dataDir(),
        lockfilePath: `${Deno.cwd()}/plugins.lock.json`,
        minPackageAgeMs: 0,
      });
      const stored = await store.fetch(await store.resolve(key));
      const inspected = await inspectBundle(stored.bundlePath);
      if (!inspected.ok) throw new Error(`Cannot inspect ${stored.name}: ${inspected.reason}`);
      const manifests = inspected.entries.map((entry) => {
        const parsed = parseManifest(entry.manifest, { packageName: stored.name, entry: `plugins[${entry.index}]` });
        if (!parsed.ok) throw new Error(parsed.reason);
        return parsed.manifest;
      });
      return { name: stored.name, version: stored.version, bundlePath: stored.bundlePath, manifests };
    })();
    pending.catch(() => bundles.delete(key));
    bundles.set(key, pending);
  }
  return pending;
}

/**
 * Starts one entry point of a package in the real sandbox.
 *
 * @param pkg A package directory (path or `file:` URL) or an `npm:`/`jsr:` specifier.
 * @param options The entry slug, options, credentials, service fields, and overrides.
 * @returns A runner; `close()` kills the plugin process.
 * @throws {Error} When the entry does not exist, the options fail the manifest's
 *   schema, or a network host cannot be computed.
 * @example
 * ```ts
 * const runner = await runInSandbox(new URL("./", import.meta.url), {
 *   entry: "aws-ssm",
 *   options: { endpoint: motoUrl },
 *   credentials: { access_key_id, secret_access_key },
 *   service: { region: "us-east-1" },
 * });
 * try { await conformanceSteps(t, runner, { ctx }); } finally { await runner.close(); }
 * ```
 */
export async function runInSandbox(pkg: string | URL, options: SandboxRunOptions): Promise<SandboxRunner> {
  const bundled = await bundlePlugin(pkg);
  const manifest = bundled.manifests.find((m) => m.slug === options.entry);
  if (!manifest) {
    throw new Error(
      `${bundled.name} has no entry "${options.entry}" (it has ${bundled.manifests.map((m) => m.slug).join(", ")})`,
    );
  }
  const compiled = compileOptionsSchema(manifest.options ?? { type: "object" });
  if (!compiled.ok) throw new Error(`The options schema of "${manifest.slug}" does not compile: ${compiled.message}`);
  const checked = compiled.schema.validate(options.options ?? {});
  if (!checked.ok) {
    throw new Error(
      `Options of "${manifest.slug}" fail its schema: ${
        checked.errors.map((e) => `${e.pointer} ${e.message}`).join("; ")
      }`,
    );
  }
  const init = completeInit({ manifest }, {
    options: checked.value as Record<string, unknown>,
    credentials: options.credentials,
    service: options.service,
    plugin: options.plugin ?? { id: `test-${manifest.slug}-${crypto.randomUUID().slice(0, 8)}`, slug: manifest.slug },
  });
  const netHosts = options.netHosts ?? computeNetHosts(manifest, { options: init.options, service: init.service });
  const supervisor = new Supervisor({
    nodeId: init.plugin.id,
    bundlePath: bundled.bundlePath,
    entry: manifest.slug,
    netHosts,
    init,
    timeoutMs: options.timeoutMs ?? manifest.timeout_ms ?? 10_000,
  });
  return {
    manifest,
    netHosts,
    bundlePath: bundled.bundlePath,
    options: init.options,
    async call<T>(method: ProtocolMethod, args: unknown[]): Promise<T> {
      try {
        return await supervisor.call(method, args, { requestId: crypto.randomUUID() }) as T;
      } catch (error) {
        const e = error as { kind?: string; message?: string; retryAfterSeconds?: number };
        if (typeof e?.kind !== "string") throw error;
        const kind = e.kind === "invalid_input" && /does not implement/.test(e.message ?? "")
          ? "not_implemented"
          : e.kind;
        throw new HandlerCallError(kind, String(e.message), { cause: error, retryAfter: e.retryAfterSeconds });
      }
    },
    close: () => supervisor.close(),
  };
}
