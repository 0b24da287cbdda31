/**
 * Service applications and their credentials: every value is encrypted with
 * the keyring before the graph store sees it (bound to
 * `org/service/application/field`), decrypted only for a handler call, shown
 * without its secrets, re-encrypted after a key rotation, and kept complete
 * for the Plugin nodes that use the application.
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
import { credentialFields } from "./packages/manifest.ts";

/** How often a re-encryption reads an application again after a concurrent write. */
const REENCRYPT_ATTEMPTS = 5;

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
   * Re-encrypts every stored credential with the current key (after a key
   * rotation), one application at a time; each application's write is
   * recorded as `application.reencrypt` (field names and key id only).
   *
   * @param options The audit stamp the store records each write with.
   * @returns How many values moved to the current key.
   */
  async reencryptAll(options: CreateOptions = {}): Promise<{ applications: number; values: number }> {
    const audit = options.audit &&
      { ...options.audit, action: "application.reencrypt", detail: { key_id: this.#keyring.currentKid } };
    let applications = 0;
    let values = 0;
    for (const org of (await this.#store.exportAll()).organizations) {
      for (const service of org.services) {
        for (const app of service.applications) {
          const moved = await this.#reencrypt({ org: org.slug, service: service.slug, audit }, app);
          if (moved > 0) applications++;
          values += moved;
        }
      }
    }
    return { applications, values };
  }

  /**
   * Moves one application's values to the current key: a compare-and-set on
   * the state it read, read again when a concurrent write got in first, so
   * a credential changed meanwhile is never overwritten with its old value.
   *
   * @returns How many values were not under the current key.
   */
  async #reencrypt(
    where: { org: string; service: string; audit: AuditStamp | undefined },
    read: ServiceApplication,
  ): Promise<number> {
    const { org, service, audit } = where;
    let app: ServiceApplication | null = read;
    for (let attempt = 1; app; attempt++) {
      const stale = Object.values(app.credentials).filter((c) => Keyring.kidOf(c) !== this.#keyring.currentKid);
      if (stale.length === 0) return 0;
      const plain = await this.decryptCredentials(org, service, app);
      const credentials = await this.#encrypt(org, service, app.slug, plain);
      try {
        await this.#store.updateApplication(org, service, app.slug, { credentials }, { ifMatch: [etagOf(app)], audit });
        return stale.length;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
        if (attempt >= REENCRYPT_ATTEMPTS) {
          throw new ConflictError(
            `Application "${app.slug}" of service "${service}" kept changing during re-encryption; run it again`,
            { cause: error },
          );
        }
        app = await this.#store.findApplication(org, service, app.slug);
      }
    }
    return 0; // deleted meanwhile: nothing left to move
  }
}
