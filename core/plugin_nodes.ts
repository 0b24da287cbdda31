/**
 * Writes that need more than the graph: plugin options checked against the
 * manifest's JSON Schema (defaults applied), required credential fields,
 * network hosts that can be computed, `search_template` placeholders, and
 * credential encryption. Reads that must hide secrets go through the views
 * here too. Structural rules stay in the store.
 *
 * @module
 */

import type { PluginManifest } from "@imbi/plugin-sdk/types";
import { type FieldError, NotFoundError, ValidationError } from "./errors.ts";
import type {
  Binding,
  BindingScope,
  GraphStore,
  PluginNode,
  ServiceApplication,
  ThirdPartyService,
} from "./graph/store.ts";
import { Keyring } from "./crypto.ts";
import { type JsonSchema, validate } from "./json_schema.ts";
import { credentialFields } from "./packages/manifest.ts";
import { computeNetHosts } from "./sandbox/network_hosts.ts";
import { checkTemplate } from "./template.ts";

/** Finds the manifest of a loaded entry point by its slug. */
export type ManifestLookup = (slug: string) => PluginManifest | undefined;

/** An application as responses show it: field names, and values only of non-secret fields. */
export interface ApplicationView {
  slug: string;
  name: string;
  credential_fields: string[];
  credentials: Record<string, string>;
}

/** A Plugin node as responses show it, with the hosts its sandbox may reach. */
export interface PluginView extends PluginNode {
  status: "loaded" | "not_loaded";
  network: { hosts: string[] };
}

/** Body of a Plugin node create. */
export interface PluginCreate {
  slug: string;
  plugin: string;
  application?: string | null;
  label: string;
  options?: Record<string, unknown>;
  enabled?: boolean;
}

/** Body of a Plugin node update. */
export interface PluginUpdate {
  application?: string | null;
  label?: string;
  options?: Record<string, unknown>;
  enabled?: boolean;
}

/**
 * The context string a credential ciphertext is bound to.
 *
 * @param org Organization slug.
 * @param service Service slug.
 * @param application Application slug.
 * @param field Credential field name.
 * @returns The AES-GCM additional data.
 */
export function credentialContext(org: string, service: string, application: string, field: string): string {
  return `${org}/${service}/${application}/${field}`;
}

/** Write rules that need manifests and the keyring, over a graph store. */
export class Directory {
  #store: GraphStore;
  #keyring: Keyring;
  #manifest: ManifestLookup;

  /**
   * @param store The graph store.
   * @param options The keyring and the manifest lookup of the current registry.
   */
  constructor(store: GraphStore, options: { keyring: Keyring; manifest: ManifestLookup }) {
    this.#store = store;
    this.#keyring = options.keyring;
    this.#manifest = options.manifest;
  }

  /** The keyring, for callers that decrypt (tab resolution). */
  get keyring(): Keyring {
    return this.#keyring;
  }

  async #encrypt(org: string, service: string, app: string, values: Record<string, string>) {
    const out: Record<string, string> = {};
    for (const [field, value] of Object.entries(values)) {
      out[field] = await this.#keyring.encrypt(value, credentialContext(org, service, app, field));
    }
    return out;
  }

  /**
   * Decrypts every credential of an application.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param app The stored application.
   * @returns Field name to plaintext.
   */
  async decryptCredentials(org: string, service: string, app: ServiceApplication): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [field, sealed] of Object.entries(app.credentials)) {
      out[field] = await this.#keyring.decrypt(sealed, credentialContext(org, service, app.slug, field));
    }
    return out;
  }

  /** Field names declared `secret: false` by the manifests of the service's Plugin nodes. */
  async #publicFields(org: string, service: string): Promise<Set<string>> {
    const open = new Set<string>();
    const closed = new Set<string>();
    for (const node of await this.#store.listPlugins(org, service)) {
      const manifest = this.#manifest(node.plugin);
      if (!manifest) continue;
      for (const field of credentialFields(manifest)) (field.secret ? closed : open).add(field.name);
    }
    for (const name of closed) open.delete(name);
    return open;
  }

  /**
   * Shows an application without its secrets.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param app The stored application.
   * @returns The view: every field name, values of non-secret fields only.
   */
  async applicationView(org: string, service: string, app: ServiceApplication): Promise<ApplicationView> {
    const open = await this.#publicFields(org, service);
    const credentials: Record<string, string> = {};
    for (const [field, sealed] of Object.entries(app.credentials)) {
      if (open.has(field)) {
        credentials[field] = await this.#keyring.decrypt(sealed, credentialContext(org, service, app.slug, field));
      }
    }
    return { slug: app.slug, name: app.name, credential_fields: Object.keys(app.credentials).sort(), credentials };
  }

  /**
   * Creates an application, encrypting every credential value.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param input Slug, name and plaintext credentials.
   * @returns The view of the stored application.
   */
  async createApplication(
    org: string,
    service: string,
    input: { slug: string; name: string; credentials: Record<string, string> },
  ): Promise<ApplicationView> {
    const credentials = await this.#encrypt(org, service, input.slug, input.credentials);
    const app = await this.#store.createApplication(org, service, { slug: input.slug, name: input.name, credentials });
    return await this.applicationView(org, service, app);
  }

  /**
   * Updates an application: a credential set to `null` is removed, others are
   * replaced. Refuses a change that leaves a Plugin node using the
   * application without a required field.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param slug Application slug.
   * @param patch New name and credential changes.
   * @returns The view of the stored application.
   * @throws {ValidationError} Naming the Plugin node and the missing fields.
   */
  async updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: { name?: string; credentials?: Record<string, string | null> },
  ): Promise<ApplicationView> {
    const current = await this.#store.getApplication(org, service, slug);
    if (!current) {
      throw new NotFoundError(`Application "${slug}" not found in service "${service}"`);
    }
    const credentials = { ...current.credentials };
    if (patch.credentials) {
      for (const [field, value] of Object.entries(patch.credentials)) {
        if (value === null) delete credentials[field];
        else credentials[field] = await this.#keyring.encrypt(value, credentialContext(org, service, slug, field));
      }
      const errors: FieldError[] = [];
      for (const node of await this.#store.listPlugins(org, service)) {
        if (node.application !== slug) continue;
        const missing = this.#missingCredentials(node.plugin, credentials);
        if (missing.length > 0) {
          errors.push({
            pointer: "/credentials",
            message: `Plugin "${node.slug}" (${node.plugin}) needs ${missing.map((m) => `"${m}"`).join(", ")}`,
          });
        }
      }
      if (errors.length > 0) {
        throw new ValidationError("The change leaves plugins without required credentials", errors);
      }
    }
    const next: Partial<Omit<ServiceApplication, "slug">> = { credentials };
    if (patch.name !== undefined) next.name = patch.name;
    const app = await this.#store.updateApplication(org, service, slug, next);
    return await this.applicationView(org, service, app);
  }

  #missingCredentials(pluginSlug: string, credentials: Record<string, string>): string[] {
    const manifest = this.#manifest(pluginSlug);
    if (!manifest) return [];
    return credentialFields(manifest).filter((f) => f.required && !(f.name in credentials)).map((f) => f.name);
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
      const service = await this.#store.getService(org, node.service);
      try {
        hosts = service ? computeNetHosts(manifest, { options: node.options, service }) : [];
      } catch {
        hosts = [];
      }
    }
    return { ...node, status: manifest ? "loaded" : "not_loaded", network: { hosts } };
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
    const schema = (manifest.options ?? { type: "object", additionalProperties: false }) as JsonSchema;
    const checked = validate(schema, input.options);
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
      const app = await this.#store.getApplication(org, service.slug, application);
      if (!app) {
        throw new ValidationError("Unknown application", [{
          pointer: "/application",
          message: `service "${service.slug}" has no application "${application}"`,
        }]);
      }
      const missing = this.#missingCredentials(manifest.slug, app.credentials);
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

  async #service(org: string, slug: string): Promise<ThirdPartyService> {
    const service = await this.#store.getService(org, slug);
    if (!service) {
      throw new NotFoundError(`Third-party service "${slug}" not found in organization "${org}"`);
    }
    return service;
  }

  /**
   * Creates a Plugin node after every manifest rule passes.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param input The body.
   * @returns The view of the stored node.
   * @throws {ValidationError} With pointers into the body.
   */
  async createPlugin(org: string, service: string, input: PluginCreate): Promise<PluginView> {
    const svc = await this.#service(org, service);
    const checked = await this.#checkPlugin(org, svc, {
      plugin: input.plugin,
      application: input.application ?? null,
      options: input.options ?? {},
    });
    const node = await this.#store.createPlugin(org, service, {
      slug: input.slug,
      service,
      application: checked.application,
      plugin: input.plugin,
      plugin_type: checked.manifest.plugin_type,
      label: input.label,
      options: checked.options,
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
   */
  async updatePlugin(org: string, service: string, idOrSlug: string, patch: PluginUpdate): Promise<PluginView> {
    const svc = await this.#service(org, service);
    const current = await this.#store.getPlugin(org, service, idOrSlug);
    if (!current) {
      throw new NotFoundError(`Plugin "${idOrSlug}" not found in service "${service}"`);
    }
    const next = {
      application: patch.application !== undefined ? patch.application : current.application,
      options: patch.options ?? current.options,
    };
    const touchesRules = patch.options !== undefined || patch.application !== undefined;
    const update: Parameters<GraphStore["updatePlugin"]>[3] = {};
    if (touchesRules) {
      const checked = await this.#checkPlugin(org, svc, { plugin: current.plugin, ...next });
      update.options = checked.options;
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

  /**
   * Re-encrypts every stored credential with the current key (after a key
   * rotation), one application at a time.
   *
   * @returns How many values moved to the current key.
   */
  async reencryptAll(): Promise<{ applications: number; values: number }> {
    let applications = 0;
    let values = 0;
    for (const org of (await this.#store.exportAll()).organizations) {
      for (const service of org.services) {
        for (const app of service.applications) {
          const stale = Object.entries(app.credentials).filter(([, c]) =>
            Keyring.kidOf(c) !== this.#keyring.currentKid
          );
          if (stale.length === 0) continue;
          const plain = await this.decryptCredentials(org.slug, service.slug, app);
          const credentials = await this.#encrypt(org.slug, service.slug, app.slug, plain);
          await this.#store.updateApplication(org.slug, service.slug, app.slug, { credentials });
          applications++;
          values += stale.length;
        }
      }
    }
    return { applications, values };
  }
}
