/**
 * Service applications and their credentials: every value is encrypted with
 * the keyring before the graph store sees it (bound to
 * `org/service/application/field`), decrypted only for a handler call, shown
 * without its secrets, re-encrypted after a key rotation, and kept complete
 * for the Plugin nodes that use the application.
 *
 * Secret options of Plugin nodes (options the manifest's schema marks
 * `writeOnly: true`) are kept the same way: the stored options hold the
 * ciphertext in place of the value (bound to
 * `org/service/plugins/<node id>/options/<name>`), responses show
 * `{"set": true}`, and only a new plugin process gets the plaintext.
 *
 * @module
 */

import type { PluginManifest } from "@imbi/plugin-sdk/types";
import { ConflictError, type FieldError, PreconditionFailedError, ValidationError } from "./errors.ts";
import { etagOf, type Tagged, tagged } from "./graph/etag.ts";
import type { AuditStamp } from "./graph/audit_changes.ts";
import type {
  ApplicationPatch,
  CreateOptions,
  GraphStore,
  PluginNode,
  ServiceApplication,
  WriteOptions,
} from "./graph/store.ts";
import { Keyring } from "./crypto.ts";
import { credentialFields, secretOptions } from "./packages/manifest.ts";

/** How often a re-encryption reads a resource again after a concurrent write. */
const REENCRYPT_ATTEMPTS = 5;

/** Where a re-encryption writes, and the audit stamp it records with. */
interface Where {
  org: string;
  service: string;
  audit: AuditStamp | undefined;
}

/** Finds the manifest of a loaded entry point by its slug. */
export type ManifestLookup = (slug: string) => PluginManifest | undefined;

/** An application as responses show it: field names, and values only of non-secret fields. */
export interface ApplicationView {
  /** Unique within its service. */
  slug: string;
  /** Display name. */
  name: string;
  /** Every stored credential field name, sorted. */
  credential_fields: string[];
  /** Plaintext values of the fields every manifest declares `secret: false`. */
  credentials: Record<string, string>;
}

/** Body of an application create: plaintext credentials. */
export interface ApplicationCreate {
  /** Unique within the service. */
  slug: string;
  /** Display name. */
  name: string;
  /** Field name to plaintext value. */
  credentials: Record<string, string>;
}

/** Body of an application update: a credential set to `null` is removed. */
export interface ApplicationUpdate {
  /** New display name. */
  name?: string;
  /** Field name to new plaintext value, or null to remove the field. */
  credentials?: Record<string, string | null>;
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

/**
 * The context string a secret option's ciphertext is bound to. It has six
 * segments where a credential's has four (slugs hold no `/`), so the two
 * never coincide.
 *
 * @param org Organization slug.
 * @param service Service slug.
 * @param pluginId The Plugin node's id (it never changes).
 * @param option The option's name.
 * @returns The AES-GCM additional data.
 */
export function optionContext(org: string, service: string, pluginId: string, option: string): string {
  return `${org}/${service}/plugins/${pluginId}/options/${option}`;
}

/** `v1.<kid>.<12-byte nonce>.<ciphertext and 16-byte tag>`, as {@linkcode Keyring.encrypt} writes it. */
const SEALED = /^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;

/**
 * Whether a stored option value is a ciphertext.
 *
 * @param value A stored option value.
 * @returns True for a string in the keyring's ciphertext format.
 */
export function isSealed(value: unknown): value is string {
  return typeof value === "string" && SEALED.test(value);
}

/** How responses show a secret option that holds a value. */
export const SECRET_SET: Readonly<{ set: true }> = Object.freeze({ set: true });

/**
 * Options as responses show them: every secret option (by the manifest, or
 * any value stored encrypted, e.g. when the manifest is not loaded) as
 * `{"set": true}`.
 *
 * @param options The stored options.
 * @param secrets The manifest's secret option names.
 * @returns A copy without secret values.
 */
export function maskOptions(options: Record<string, unknown>, secrets: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(options).map(([name, value]) => [
      name,
      secrets.includes(name) || isSealed(value) ? { ...SECRET_SET } : value,
    ]),
  );
}

/** What a new plugin process is started with, decrypted. */
export interface OpenedNode {
  /** The application's credentials, by field. */
  credentials: Record<string, string>;
  /** The node's options with secret ones decrypted. */
  options: Record<string, unknown>;
  /** The decrypted secret option values, by `options.<name>`, for redaction. */
  secrets: Record<string, string>;
}

/**
 * The required credential fields of a manifest that `credentials` lacks.
 *
 * @param manifest The handler's manifest; none (not loaded) requires nothing.
 * @param credentials The application's credentials (any values).
 * @returns The missing field names, in manifest order.
 */
export function missingCredentials(
  manifest: PluginManifest | undefined,
  credentials: Record<string, unknown>,
): string[] {
  if (!manifest) return [];
  return credentialFields(manifest).filter((f) => f.required && !(f.name in credentials)).map((f) => f.name);
}

/** Applications with encrypted credentials, over a graph store. */
export class Credentials {
  #store: GraphStore;
  #keyring: Keyring;
  #manifest: ManifestLookup;

  /**
   * Builds the service over a store.
   *
   * @param store The graph store.
   * @param options The keyring and the manifest lookup of the current registry.
   */
  constructor(store: GraphStore, options: { keyring: Keyring; manifest: ManifestLookup }) {
    this.#store = store;
    this.#keyring = options.keyring;
    this.#manifest = options.manifest;
  }

  /** The keyring (its current key id answers the re-encryption endpoint). */
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

  /**
   * Encrypts the secret options of a Plugin node before the store sees them.
   * A secret whose value did not change keeps its stored ciphertext (so the
   * node's process is not restarted for nothing).
   *
   * @param at The node: org, service and id.
   * @param options Validated options, secrets in plaintext.
   * @param previous The stored options and their plaintext, for an update.
   * @returns The options to store.
   */
  async sealOptions(
    at: { org: string; service: string; id: string; plugin: string },
    options: Record<string, unknown>,
    previous?: { stored: Record<string, unknown>; plain: Record<string, unknown> },
  ): Promise<Record<string, unknown>> {
    const out = { ...options };
    for (const name of secretOptions(this.#manifest(at.plugin))) {
      const value = out[name];
      if (typeof value !== "string") continue;
      const kept = previous?.stored[name];
      out[name] = previous && previous.plain[name] === value && isSealed(kept)
        ? kept
        : await this.#keyring.encrypt(value, optionContext(at.org, at.service, at.id, name));
    }
    return out;
  }

  /**
   * Decrypts the stored secret options of a Plugin node. A value the
   * manifest marks secret that was stored before it was (plaintext) is
   * passed on as it is; a ciphertext under a name the manifest no longer
   * marks secret is still decrypted.
   *
   * @param org Organization slug.
   * @param node The stored node.
   * @returns The options in plaintext and the secret values by `options.<name>`.
   * @throws {DecryptionError} When a ciphertext does not authenticate.
   */
  async openOptions(
    org: string,
    node: PluginNode,
  ): Promise<{ options: Record<string, unknown>; secrets: Record<string, string> }> {
    const names = new Set(secretOptions(this.#manifest(node.plugin)));
    const options = { ...node.options };
    const secrets: Record<string, string> = {};
    for (const [name, value] of Object.entries(node.options)) {
      if (!isSealed(value) && !names.has(name)) continue;
      const plain = isSealed(value)
        ? await this.#keyring.decrypt(value, optionContext(org, node.service, node.id, name))
        : value;
      options[name] = plain;
      if (typeof plain === "string") secrets[`options.${name}`] = plain;
    }
    return { options, secrets };
  }

  /**
   * Everything a new process of a Plugin node needs decrypted: its
   * application's credentials and its options.
   *
   * @param org Organization slug.
   * @param node The stored node.
   * @param app Its application, or null.
   * @returns The decrypted parts.
   */
  async openNode(org: string, node: PluginNode, app: ServiceApplication | null): Promise<OpenedNode> {
    const credentials = app ? await this.decryptCredentials(org, node.service, app) : {};
    return { credentials, ...await this.openOptions(org, node) };
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
   * @param options The audit stamp the store records the create with.
   * @returns The view of the stored application, with its ETag.
   */
  async createApplication(
    org: string,
    service: string,
    input: ApplicationCreate,
    options: CreateOptions = {},
  ): Promise<Tagged<ApplicationView>> {
    const credentials = await this.#encrypt(org, service, input.slug, input.credentials);
    const app = await this.#store.createApplication(
      org,
      service,
      { slug: input.slug, name: input.name, credentials },
      options,
    );
    return tagged(app, await this.applicationView(org, service, app));
  }

  /**
   * Updates an application: a credential set to `null` is removed, others are
   * replaced, the rest kept. The new values are encrypted first; the merge
   * into the stored map and the check that every Plugin node using the
   * application keeps its required fields run in one store transaction, so
   * concurrent updates of different fields all survive.
   *
   * @param org Organization slug.
   * @param service Service slug.
   * @param slug Application slug.
   * @param patch New name and credential changes.
   * @param options `ifMatch`, to write only over the state the caller read, and the audit stamp.
   * @returns The view of the stored application, with its ETag.
   * @throws {NotFoundError} For an unknown org, service or application.
   * @throws {ValidationError} Naming the Plugin node and the missing fields.
   * @throws {PreconditionFailedError} When `ifMatch` does not hold.
   */
  async updateApplication(
    org: string,
    service: string,
    slug: string,
    patch: ApplicationUpdate,
    options: WriteOptions = {},
  ): Promise<Tagged<ApplicationView>> {
    const changes: Record<string, string | null> = {};
    for (const [field, value] of Object.entries(patch.credentials ?? {})) {
      changes[field] = value === null
        ? null
        : await this.#keyring.encrypt(value, credentialContext(org, service, slug, field));
    }
    const update: ApplicationPatch = { credential_changes: changes };
    if (patch.name !== undefined) update.name = patch.name;
    const check = patch.credentials
      ? (next: ServiceApplication, users: PluginNode[]) => this.#complete(next, users)
      : undefined;
    const app = await this.#store.updateApplication(org, service, slug, update, { ...options, check });
    return tagged(app, await this.applicationView(org, service, app));
  }

  /** Refuses credentials that leave a Plugin node using the application without a required field. */
  #complete(app: ServiceApplication, users: PluginNode[]): void {
    const errors: FieldError[] = [];
    for (const node of users) {
      const missing = missingCredentials(this.#manifest(node.plugin), app.credentials);
      if (missing.length > 0) {
        errors.push({
          pointer: "/credentials",
          message: `Plugin "${node.slug}" (${node.plugin}) needs ${missing.map((m) => `"${m}"`).join(", ")}`,
        });
      }
    }
    if (errors.length > 0) throw new ValidationError("The change leaves plugins without required credentials", errors);
  }

  /**
   * Re-encrypts every stored credential and secret option with the current
   * key (after a key rotation), one application or Plugin node at a time.
   * Each write is a compare-and-set on what it read, read again when a
   * concurrent write got in first, so a value changed meanwhile is never
   * overwritten with its old one; each is recorded as `application.reencrypt`
   * or `plugin.reencrypt` (names and key id only).
   *
   * @param options The audit stamp the store records each write with.
   * @returns How many applications, Plugin nodes and values moved to the current key.
   */
  async reencryptAll(options: CreateOptions = {}): Promise<{ applications: number; plugins: number; values: number }> {
    const stamp = (action: string): AuditStamp | undefined =>
      options.audit && { ...options.audit, action, detail: { key_id: this.#keyring.currentKid } };
    const counts = { applications: 0, plugins: 0, values: 0 };
    const count = (kind: "applications" | "plugins", moved: number) => {
      if (moved > 0) counts[kind]++;
      counts.values += moved;
    };
    for (const org of (await this.#store.exportAll()).organizations) {
      for (const service of org.services) {
        const where = { org: org.slug, service: service.slug };
        for (const node of service.plugins) {
          count("plugins", await this.#reencryptOptions({ ...where, audit: stamp("plugin.reencrypt") }, node));
        }
        for (const app of service.applications) {
          count(
            "applications",
            await this.#reencryptCredentials({ ...where, audit: stamp("application.reencrypt") }, app),
          );
        }
      }
    }
    return counts;
  }

  /** Moves one Plugin node's secret options to the current key; how many moved. */
  #reencryptOptions(where: Where, read: PluginNode): Promise<number> {
    const { org, service, audit } = where;
    const stale = (node: PluginNode) =>
      Object.entries(node.options).filter(([, v]) => isSealed(v) && Keyring.kidOf(v) !== this.#keyring.currentKid);
    return this.#moveToCurrentKey(`Plugin "${read.slug}" of service "${service}"`, read, {
      stale: (node) => stale(node).length,
      write: async (node, ifMatch) => {
        const options = { ...node.options };
        for (const [name, sealed] of stale(node)) {
          const context = optionContext(org, service, node.id, name);
          options[name] = await this.#keyring.encrypt(await this.#keyring.decrypt(sealed as string, context), context);
        }
        await this.#store.updatePlugin(org, service, node.id, { options }, { ifMatch, audit });
      },
      reread: (node) => this.#store.findPlugin(org, service, node.id),
    });
  }

  /** Moves one application's credentials to the current key; how many moved. */
  #reencryptCredentials(where: Where, read: ServiceApplication): Promise<number> {
    const { org, service, audit } = where;
    return this.#moveToCurrentKey(`Application "${read.slug}" of service "${service}"`, read, {
      stale: (app) =>
        Object.values(app.credentials).filter((c) => Keyring.kidOf(c) !== this.#keyring.currentKid).length,
      write: async (app, ifMatch) => {
        const credentials = await this.#encrypt(
          org,
          service,
          app.slug,
          await this.decryptCredentials(org, service, app),
        );
        await this.#store.updateApplication(org, service, app.slug, { credentials }, { ifMatch, audit });
      },
      reread: (app) => this.#store.findApplication(org, service, app.slug),
    });
  }

  /**
   * Re-encrypts one resource with a compare-and-set on the state read,
   * reading it again after a concurrent write (a few times at most).
   *
   * @returns How many values were not under the current key (0 when it was deleted meanwhile).
   */
  async #moveToCurrentKey<T>(what: string, read: T, steps: {
    stale: (value: T) => number;
    write: (value: T, ifMatch: string[]) => Promise<void>;
    reread: (value: T) => Promise<T | null>;
  }): Promise<number> {
    let value: T | null = read;
    for (let attempt = 1; value !== null; attempt++) {
      const stale = steps.stale(value);
      if (stale === 0) return 0;
      try {
        await steps.write(value, [etagOf(value)]);
        return stale;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        if (attempt >= REENCRYPT_ATTEMPTS) {
          throw new ConflictError(`${what} kept changing during re-encryption; run it again`, { cause: error });
        }
        value = await steps.reread(value);
      }
    }
    return 0;
  }
}
