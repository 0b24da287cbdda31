/**
 * Plugin node writes that need more than the graph: options checked against
 * the manifest's JSON Schema (defaults applied), the application holding the
 * required credential fields, network hosts that can be computed, and
 * `search_template` placeholders of bindings; and the view of a node with
 * its load status and hosts. Structural rules stay in the store
 * (`core/graph/rules.ts`); application credentials are `core/credentials.ts`.
 *
 * @module
 */

import type { PluginManifest } from "@imbi/plugin-sdk/types";
import { type FieldError, ValidationError } from "./errors.ts";
import { type Tagged, tagged } from "./graph/etag.ts";
import type {
  Binding,
  BindingScope,
  CreateOptions,
  GraphStore,
  PluginContext,
  PluginNode,
  PluginNodePatch,
  PluginWriteOptions,
  ServiceApplication,
  WriteOptions,
} from "./graph/store.ts";
import type { Keyring } from "./crypto.ts";
import {
  type ApplicationCreate,
  type ApplicationUpdate,
  type ApplicationView,
  type Credentials,
  type ManifestLookup,
  maskOptions,
  missingCredentials,
} from "./credentials.ts";
import { compileOptionsSchema } from "./validation.ts";
import { credentialFields, secretOptions } from "./packages/manifest.ts";
import { EgressPolicy } from "./sandbox/egress.ts";
import { computeNetHosts, computeNetHostSources } from "./sandbox/network_hosts.ts";
import { checkTemplate } from "./template.ts";

/**
 * A Plugin node as responses show it, with the hosts its sandbox may reach.
 * Secret options show as `{"set": true}`, never their value.
 */
export interface PluginView extends PluginNode {
  /** Whether its manifest is loaded right now. */
  status: "loaded" | "not_loaded";
  /** The hosts computed from its manifest, options and service; empty when not loaded. */
  network: { hosts: string[] };
}

/** Body of a Plugin node create. */
export interface PluginCreate {
  /** Unique within the service. */
  slug: string;
  /** The manifest slug of a loaded entry point. */
  plugin: string;
  /** The application holding its credentials; absent or null uses the service's only one. */
  application?: string | null;
  /** Display name. */
  label: string;
  /** Options, checked against the manifest (defaults applied); secret ones are stored encrypted. */
  options?: Record<string, unknown>;
  /** Default true. */
  enabled?: boolean;
}

/** Body of a Plugin node update. */
export interface PluginUpdate {
  /** Another application of the service, or null for the service's only one. */
  application?: string | null;
  /** New display name. */
  label?: string;
  /**
   * New options, checked against the manifest. They replace the old ones,
   * except secret options: one left out keeps its stored value, one set to
   * null is removed.
   */
  options?: Record<string, unknown>;
  /** Enable or disable. */
  enabled?: boolean;
}

/**
 * Plugin node and binding writes that need manifests, over a graph store.
 * The credential operations of {@linkcode Credentials} are reachable here
 * too, so the routes hold one object.
 */
export class PluginNodes {
  #store: GraphStore;
  #credentials: Credentials;
  #manifest: ManifestLookup;
  #egress: EgressPolicy;

  /**
   * Builds the service over a store.
   *
   * @param store The graph store.
   * @param options The credentials service, the manifest lookup of the current registry, the egress policy.
   */
  constructor(
    store: GraphStore,
    options: { credentials: Credentials; manifest: ManifestLookup; egress?: EgressPolicy },
  ) {
    this.#store = store;
    this.#credentials = options.credentials;
    this.#manifest = options.manifest;
    this.#egress = options.egress ?? new EgressPolicy();
  }

  /**
   * Shows a Plugin node with its load status and computed network hosts.
   *
   * @param org Organization slug.
   * @param node The stored node.
   * @returns The view.
   */
  async pluginView(org: string, node: PluginNode): Promise<PluginView> {
    const manifest = this.#manifest(node.plugin);
    let hosts: string[] = [];
    if (manifest) {
      const service = await this.#store.findService(org, node.service);
      try {
        hosts = service ? computeNetHosts(manifest, { options: node.options, service }) : [];
      } catch {
        hosts = [];
      }
    }
    const options = maskOptions(node.options, secretOptions(manifest));
    return { ...node, options, status: manifest ? "loaded" : "not_loaded", network: { hosts } };
  }

  /** The manifest of a loaded entry point; 422 naming `/plugin` otherwise. */
  #loadedManifest(plugin: string): PluginManifest {
    const manifest = this.#manifest(plugin);
    if (!manifest) {
      throw new ValidationError("Unknown plugin", [{
        pointer: "/plugin",
        message: `"${plugin}" is not a loaded plugin entry point (see GET /admin/plugins)`,
      }]);
    }
    return manifest;
  }

  /** Options checked against the manifest's JSON Schema, defaults applied. */
  #checkOptions(manifest: PluginManifest, options: Record<string, unknown>): Record<string, unknown> {
    const compiled = compileOptionsSchema(manifest.options);
    if (!compiled.ok) {
      throw new TypeError(`The options schema of "${manifest.slug}" does not compile: ${compiled.message}`);
    }
    const checked = compiled.schema.validate(options);
    if (!checked.ok) {
      throw new ValidationError(
        `Options do not match the manifest of "${manifest.slug}"`,
        checked.errors.map((e) => ({ pointer: `/options${e.pointer}`, message: e.message })),
      );
    }
    return checked.value as Record<string, unknown>;
  }

  /** Refuses (422) an application the service does not have, before the write. */
  async #assertApplication(org: string, service: string, application: string): Promise<void> {
    if (!await this.#store.findApplication(org, service, application)) {
      throw new ValidationError("Unknown application", [{
        pointer: "/application",
        message: `service "${service}" has no application "${application}"`,
      }]);
    }
  }

  /**
   * The rules a node must meet against its application and service, run by
   * the store inside the write's transaction: the application holds every
   * required credential field, and the network hosts can be computed.
   */
  #checkTarget(manifest: PluginManifest, node: PluginNode, context: PluginContext): void {
    const required = credentialFields(manifest).filter((f) => f.required);
    const { application, service } = context;
    if (application === null && required.length > 0) {
      throw new ValidationError("No application", [{
        pointer: "/application",
        message: `"${manifest.slug}" needs credentials (${
          required.map((f) => f.name).join(", ")
        }); name the application that holds them`,
      }]);
    }
    const missing = application ? missingCredentials(manifest, application.credentials) : [];
    if (missing.length > 0) {
      throw new ValidationError("Missing credentials", [{
        pointer: "/application",
        message: `application "${application!.slug}" lacks required credential fields: ${missing.join(", ")}`,
      }]);
    }
    let hosts: Map<string, string>;
    try {
      hosts = computeNetHostSources(manifest, { options: node.options, service });
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new ValidationError("Network hosts", [{ pointer: "/options", message: (error as Error).message }]);
    }
    this.#checkEgress(manifest, hosts);
  }

  /**
   * Refuses (422) a node whose network hosts the egress policy denies, naming
   * the entry, the rule, and the option it came from (`/options/<name>`) or
   * `/plugin` when the manifest itself lists it.
   */
  #checkEgress(manifest: PluginManifest, hosts: Map<string, string>): void {
    const errors: FieldError[] = [];
    for (const [host, source] of hosts) {
      const denied = this.#egress.check(host);
      if (denied.allowed) continue;
      const from = source.startsWith("/options/")
        ? `option "${source.slice("/options/".length)}"`
        : source.startsWith("/service/")
        ? `the service's ${source.slice("/service/".length)}`
        : `manifest "${manifest.slug}" ${source.slice(1).replaceAll("/", ".")}`;
      errors.push({
        pointer: source.startsWith("/options/") ? source : "/plugin",
        message: `network host "${host}" (from ${from}) ${denied.reason}`,
      });
    }
    if (errors.length > 0) throw new ValidationError("Egress policy", errors);
  }

  /**
   * Creates a Plugin node after every manifest rule passes; the rules that
   * read the application run in the store's transaction.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param input The body.
   * @param write The audit stamp the store records the create with.
   * @returns The view of the stored node, with its ETag.
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ValidationError} With pointers into the body.
   */
  async createPlugin(
    org: string,
    service: string,
    input: PluginCreate,
    write: CreateOptions = {},
  ): Promise<Tagged<PluginView>> {
    await this.#store.getService(org, service);
    const manifest = this.#loadedManifest(input.plugin);
    const checked = this.#checkOptions(manifest, withoutNullSecrets(input.options ?? {}, secretOptions(manifest)));
    const application = input.application ?? null;
    if (application !== null) await this.#assertApplication(org, service, application);
    const id = crypto.randomUUID();
    const options = await this.#credentials.sealOptions({ org, service, id, plugin: input.plugin }, checked);
    const node = await this.#store.createPlugin(org, service, {
      id,
      slug: input.slug,
      service,
      application,
      plugin: input.plugin,
      plugin_type: manifest.plugin_type,
      label: input.label,
      options,
      enabled: input.enabled ?? true,
    }, { ...write, check: (next, context) => this.#checkTarget(manifest, next, context) });
    return tagged(node, await this.pluginView(org, node));
  }

  /**
   * Updates a Plugin node: only the fields the patch names are written, and
   * the merged node is checked against the manifest, its application and its
   * service inside the store's transaction, so a concurrent update of
   * another field is never undone.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param idOrSlug The node.
   * @param patch The changes.
   * @param options `ifMatch`, to write only over the state the caller read, and the audit stamp.
   * @returns The view of the stored node, with its ETag.
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   * @throws {PreconditionFailedError} When `ifMatch` does not hold.
   */
  async updatePlugin(
    org: string,
    service: string,
    idOrSlug: string,
    patch: PluginUpdate,
    options: WriteOptions = {},
  ): Promise<Tagged<PluginView>> {
    // Its manifest slug and id never change; what else changes meanwhile the store merges in its transaction.
    const current = await this.#store.getPlugin(org, service, idOrSlug);
    const update: PluginNodePatch = {};
    let check: PluginWriteOptions["check"];
    if (patch.options !== undefined || patch.application !== undefined) {
      const manifest = this.#loadedManifest(current.plugin);
      if (patch.options !== undefined) {
        Object.assign(update, await this.#optionsUpdate({ org, manifest, current }, patch.options));
      }
      if (patch.application !== undefined) {
        update.application = patch.application ?? await this.#onlyApplication(org, service);
        if (update.application !== null) await this.#assertApplication(org, service, update.application);
      }
      check = (next, context) => this.#checkTarget(manifest, next, context);
    }
    if (patch.label !== undefined) update.label = patch.label;
    if (patch.enabled !== undefined) update.enabled = patch.enabled;
    const node = await this.#store.updatePlugin(org, service, current.id, update, { ...options, check });
    return tagged(node, await this.pluginView(org, node));
  }

  /**
   * The options part of an update: the given options, with the secret ones
   * they leave out (which keep their value), checked against the manifest;
   * the given secret values sealed. The secret options left out are named in
   * `keep_options`, so the store keeps their stored values inside the write's
   * transaction, whatever was written since `current` was read.
   */
  async #optionsUpdate(
    at: { org: string; manifest: PluginManifest; current: PluginNode },
    given: Record<string, unknown>,
  ): Promise<PluginNodePatch> {
    const { org, manifest, current } = at;
    const secrets = secretOptions(manifest);
    const opened = (await this.#credentials.openOptions(org, current)).options;
    const checked = this.#checkOptions(manifest, mergeSecrets(given, opened, { secrets }));
    const kept = secrets.filter((name) => !(name in given) && name in opened);
    const options = await this.#credentials.sealOptions(
      { org, service: current.service, id: current.id, plugin: current.plugin },
      Object.fromEntries(Object.entries(checked).filter(([name]) => !kept.includes(name))),
      { stored: current.options, plain: opened },
    );
    return { options, keep_options: kept };
  }

  /** The service's only application, or null when it has none or several. */
  async #onlyApplication(org: string, service: string): Promise<string | null> {
    const apps = await this.#store.listApplications(org, service);
    return apps.length === 1 ? apps[0]!.slug : null;
  }

  /**
   * Replaces the bindings of a scope after checking every template.
   *
   * @param scope Project type or project.
   * @param bindings The complete new set.
   * @param options `ifMatch`, to replace only the set the caller read, and the audit stamp.
   * @returns The stored bindings, with the ETag of the set.
   * @throws {ValidationError} With pointers `/bindings/<i>/search_template`.
   * @throws {PreconditionFailedError} When `ifMatch` does not hold.
   */
  async replaceBindings(
    scope: BindingScope,
    bindings: Binding[],
    options: WriteOptions = {},
  ): Promise<Tagged<Binding[]>> {
    const errors: FieldError[] = [];
    bindings.forEach((b, i) => {
      for (const problem of checkTemplate(b.search_template)) {
        errors.push({ pointer: `/bindings/${i}/search_template`, message: problem });
      }
    });
    if (errors.length > 0) throw new ValidationError("Invalid search_template", errors);
    return tagged(await this.#store.replaceBindings(scope, bindings, options));
  }

  /** The keyring of {@linkcode Credentials.keyring}. */
  get keyring(): Keyring {
    return this.#credentials.keyring;
  }

  /** {@linkcode Credentials.decryptCredentials}. */
  decryptCredentials(org: string, service: string, app: ServiceApplication): Promise<Record<string, string>> {
    return this.#credentials.decryptCredentials(org, service, app);
  }

  /** {@linkcode Credentials.applicationView}. */
  applicationView(org: string, service: string, app: ServiceApplication): Promise<ApplicationView> {
    return this.#credentials.applicationView(org, service, app);
  }

  /** {@linkcode Credentials.createApplication}. */
  createApplication(
    org: string,
    service: string,
    input: ApplicationCreate,
    options?: CreateOptions,
  ): Promise<Tagged<ApplicationView>> {
    return this.#credentials.createApplication(org, service, input, options);
  }

  /** {@linkcode Credentials.updateApplication}. */
  updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: ApplicationUpdate,
    options?: WriteOptions,
  ): Promise<Tagged<ApplicationView>> {
    return this.#credentials.updateApplication(org, service, slug, patch, options);
  }

  /** {@linkcode Credentials.reencryptAll}. */
  reencryptAll(options?: CreateOptions): Promise<{ applications: number; plugins: number; values: number }> {
    return this.#credentials.reencryptAll(options);
  }
}

/** Options without the secret ones set to null (null removes a secret option). */
function withoutNullSecrets(options: Record<string, unknown>, secrets: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).filter(([name, v]) => !(v === null && secrets.includes(name))));
}

/**
 * An update's options: as given, except that a secret option left out
 * keeps its current value and one set to null is removed.
 */
function mergeSecrets(
  given: Record<string, unknown>,
  current: Record<string, unknown>,
  options: { secrets: readonly string[] },
): Record<string, unknown> {
  const merged = withoutNullSecrets(given, options.secrets);
  for (const name of options.secrets) {
    if (!(name in given) && name in current) merged[name] = current[name];
  }
  return merged;
}
