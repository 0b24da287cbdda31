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
import type {
  Binding,
  BindingScope,
  GraphStore,
  PluginNode,
  PluginNodePatch,
  ServiceApplication,
  ThirdPartyService,
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
import { computeNetHosts } from "./sandbox/network_hosts.ts";
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

  /**
   * Builds the service over a store.
   *
   * @param store The graph store.
   * @param options The credentials service and the manifest lookup of the current registry.
   */
  constructor(store: GraphStore, options: { credentials: Credentials; manifest: ManifestLookup }) {
    this.#store = store;
    this.#credentials = options.credentials;
    this.#manifest = options.manifest;
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

  async #checkPlugin(
    org: string,
    service: ThirdPartyService,
    input: { plugin: string; application: string | null; options: Record<string, unknown> },
  ): Promise<{ manifest: PluginManifest; options: Record<string, unknown>; application: string | null }> {
    const manifest = this.#manifest(input.plugin);
    if (!manifest) {
      throw new ValidationError("Unknown plugin", [{
        pointer: "/plugin",
        message: `"${input.plugin}" is not a loaded plugin entry point (see GET /admin/plugins)`,
      }]);
    }
    const compiled = compileOptionsSchema(manifest.options);
    if (!compiled.ok) {
      throw new TypeError(`The options schema of "${manifest.slug}" does not compile: ${compiled.message}`);
    }
    const checked = compiled.schema.validate(input.options);
    if (!checked.ok) {
      throw new ValidationError(
        `Options do not match the manifest of "${manifest.slug}"`,
        checked.errors.map((e) => ({ pointer: `/options${e.pointer}`, message: e.message })),
      );
    }
    const options = checked.value as Record<string, unknown>;
    let application = input.application;
    if (application === null) {
      const apps = await this.#store.listApplications(org, service.slug);
      if (apps.length === 1) application = apps[0]!.slug;
    }
    const required = credentialFields(manifest).filter((f) => f.required);
    if (application === null) {
      if (required.length > 0) {
        throw new ValidationError("No application", [{
          pointer: "/application",
          message: `"${manifest.slug}" needs credentials (${
            required.map((f) => f.name).join(", ")
          }); name the application that holds them`,
        }]);
      }
    } else {
      const app = await this.#store.findApplication(org, service.slug, application);
      if (!app) {
        throw new ValidationError("Unknown application", [{
          pointer: "/application",
          message: `service "${service.slug}" has no application "${application}"`,
        }]);
      }
      const missing = missingCredentials(manifest, app.credentials);
      if (missing.length > 0) {
        throw new ValidationError("Missing credentials", [{
          pointer: "/application",
          message: `application "${application}" lacks required credential fields: ${missing.join(", ")}`,
        }]);
      }
    }
    try {
      computeNetHosts(manifest, { options, service });
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      throw new ValidationError("Network hosts", [{ pointer: "/options", message: (error as Error).message }]);
    }
    return { manifest, options, application };
  }

  /**
   * Creates a Plugin node after every manifest rule passes.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param input The body.
   * @returns The view of the stored node.
   * @throws {NotFoundError} For an unknown org or service.
   * @throws {ValidationError} With pointers into the body.
   */
  async createPlugin(org: string, service: string, input: PluginCreate): Promise<PluginView> {
    const svc = await this.#store.getService(org, service);
    const secrets = secretOptions(this.#manifest(input.plugin));
    const checked = await this.#checkPlugin(org, svc, {
      plugin: input.plugin,
      application: input.application ?? null,
      options: withoutNullSecrets(input.options ?? {}, secrets),
    });
    const id = crypto.randomUUID();
    const options = await this.#credentials.sealOptions({ org, service, id, plugin: input.plugin }, checked.options);
    const node = await this.#store.createPlugin(org, service, {
      id,
      slug: input.slug,
      service,
      application: checked.application,
      plugin: input.plugin,
      plugin_type: checked.manifest.plugin_type,
      label: input.label,
      options,
      enabled: input.enabled ?? true,
    });
    return await this.pluginView(org, node);
  }

  /**
   * Updates a Plugin node, checking the merged result against the manifest.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param idOrSlug The node.
   * @param patch The changes.
   * @returns The view of the stored node.
   * @throws {NotFoundError} For an unknown org, service or Plugin node.
   */
  async updatePlugin(org: string, service: string, idOrSlug: string, patch: PluginUpdate): Promise<PluginView> {
    const svc = await this.#store.getService(org, service);
    const current = await this.#store.getPlugin(org, service, idOrSlug);
    const update: PluginNodePatch = {};
    if (patch.options !== undefined || patch.application !== undefined) {
      const opened = (await this.#credentials.openOptions(org, current)).options;
      const checked = await this.#checkPlugin(org, svc, {
        plugin: current.plugin,
        application: patch.application !== undefined ? patch.application : current.application,
        options: patch.options === undefined ? opened : mergeSecrets(patch.options, opened, {
          secrets: secretOptions(this.#manifest(current.plugin)),
        }),
      });
      update.options = await this.#credentials.sealOptions(
        { org, service, id: current.id, plugin: current.plugin },
        checked.options,
        { stored: current.options, plain: opened },
      );
      update.application = checked.application;
    }
    if (patch.label !== undefined) update.label = patch.label;
    if (patch.enabled !== undefined) update.enabled = patch.enabled;
    const node = await this.#store.updatePlugin(org, service, current.id, update);
    return await this.pluginView(org, node);
  }

  /**
   * Replaces the bindings of a scope after checking every template.
   *
   * @param scope Project type or project.
   * @param bindings The complete new set.
   * @returns The stored bindings.
   * @throws {ValidationError} With pointers `/bindings/<i>/search_template`.
   */
  async replaceBindings(scope: BindingScope, bindings: Binding[]): Promise<Binding[]> {
    const errors: FieldError[] = [];
    bindings.forEach((b, i) => {
      for (const problem of checkTemplate(b.search_template)) {
        errors.push({ pointer: `/bindings/${i}/search_template`, message: problem });
      }
    });
    if (errors.length > 0) throw new ValidationError("Invalid search_template", errors);
    return await this.#store.replaceBindings(scope, bindings);
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
  createApplication(org: string, service: string, input: ApplicationCreate): Promise<ApplicationView> {
    return this.#credentials.createApplication(org, service, input);
  }

  /** {@linkcode Credentials.updateApplication}. */
  updateApplication(org: string, service: string, slug: string, patch: ApplicationUpdate): Promise<ApplicationView> {
    return this.#credentials.updateApplication(org, service, slug, patch);
  }

  /** {@linkcode Credentials.reencryptAll}. */
  reencryptAll(): Promise<{ applications: number; plugins: number; values: number }> {
    return this.#credentials.reencryptAll();
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
