/**
 * The plugin API 1.0 contract: manifests, handler construction, call
 * contexts, and the Configuration and Logs protocols (spec section 2).
 * Wire names are snake_case, exactly as they travel between host and plugin.
 *
 * @module
 */

/** Handler protocols a manifest may declare. */
export type PluginType = "configuration" | "logs";

/** One credential field a capability needs from its service application. */
export interface CredentialField {
  /** The field's key in `HandlerInit.credentials`, e.g. `"api_token"`. */
  name: string;
  /** What the operator sees next to the input. */
  label: string;
  /** Defaults to true. */
  required?: boolean;
  /** Defaults to true: the value is never shown after it is written. */
  secret?: boolean;
  /** Defaults to false. */
  multiline?: boolean;
}

/** One configuration data type and whether its values are secret. */
export interface DataType {
  /** The wire name, as `data_type` of a key. */
  name: string;
  /** What the user sees. */
  label: string;
  /** Values of this type are secret (masked in the UI, never logged). */
  secret: boolean;
}

/** A handler class's static manifest (spec section 2.1). */
export interface PluginManifest {
  /** Unique across the registry, `^[a-z][a-z0-9-]{1,62}$`. */
  slug: string;
  /** Display name. */
  name: string;
  /** Operator help text. */
  description?: string;
  /** Which handler protocol the class implements. */
  plugin_type: PluginType;
  /** A semver range of host plugin-API versions, e.g. `"^1.0.0"`. */
  api_version: string;
  /** JSON Schema (object) of one installed capability's options. */
  options?: Record<string, unknown>;
  /** Fields this capability needs from its service's credentials. */
  credentials?: CredentialField[];
  /** Hosts the handler may reach: `host`, `host:port`, `{placeholder}`s allowed. */
  network: { hosts: string[] };
  /** The handler's own per-call budget, ms; the operator's ceiling wins. */
  timeout_ms?: number;
  /** Configuration only: the valid data types, and which are secret. */
  data_types?: DataType[];
  /**
   * Behaviour hints: `cacheable` (the host may cache answers of `listKeys`, `getValues` and logs `schema`),
   * `cache_ttl_ms` (the longest such an answer may be kept; the operator's TTL wins when lower),
   * `supports_histogram`, `write_only_secrets`, ...
   */
  hints?: { cacheable?: boolean; cache_ttl_ms?: number; supports_histogram?: boolean; [hint: string]: unknown };
}

/** Non-secret fields of the third-party service a capability belongs to. */
export interface ServiceInfo {
  /** The service's slug within its organization. */
  slug: string;
  /** Display name. */
  name: string;
  /** Vendor slug, e.g. `"aws"`. */
  vendor: string | null;
  /** Base URL of the service, e.g. a GitHub Enterprise API. */
  base_url: string | null;
  /** Account id at the vendor. */
  account: string | null;
  /** The vendor's region, e.g. `"eu-west-1"`. */
  region: string | null;
}

/** What the host passes to a handler's constructor. */
export interface HandlerInit<Options = Record<string, unknown>> {
  /** The Plugin node's options, validated, with defaults applied. */
  options: Options;
  /** Decrypted credentials of the node's service application. */
  credentials: Record<string, string>;
  /** The Plugin node being served. */
  plugin: { id: string; slug: string };
  /** The non-secret fields of the node's service. */
  service: ServiceInfo;
}

/** The per-call context (spec section 2.2). */
export interface CallContext {
  /** The organization of the project. */
  org: { slug: string };
  /** The project whose tab is shown. */
  project: { id: string; slug: string; name: string; project_types: string[] };
  /** The binding's `search_template`, rendered for this project. */
  search_template: string;
  /** The environment the user picked, when the tab has one. */
  environment?: string;
  /** Identifies the request in the host's logs; put it in yours. */
  request_id: string;
}

/**
 * The context of a connection check (`POST .../plugins/{plugin}/test`): it
 * tests the Plugin node itself, so there is no project and no rendered
 * `search_template`.
 */
export interface CheckContext {
  /** The organization of the Plugin node. */
  org: { slug: string };
  /** Identifies the request in the host's logs; put it in yours. */
  request_id: string;
}

/** What a connection check verified, when it succeeded (a failure throws one of the SDK's typed errors). */
export interface ConnectionCheck {
  /** What was checked, for an operator, e.g. `"credentials accepted by sts:GetCallerIdentity"`. */
  checked: string[];
}

/** A configuration key without its value. */
export interface ConfigKey {
  /** The key, relative to the rendered `search_template`. */
  key: string;
  /** One of the manifest's `data_types` names. */
  data_type: string;
  /** The value is secret (its data type is). */
  secret: boolean;
  /** When the value last changed, ISO 8601. */
  last_modified?: string;
}

/** A configuration key with its value. */
export interface ConfigValue extends ConfigKey {
  /** The value as text (`""` where the backend never returns it). */
  value: string;
}

/** The Configuration protocol (`plugin_type: "configuration"`). */
export interface ConfigurationHandler {
  /** Every key, without values. */
  listKeys(ctx: CallContext): Promise<ConfigKey[]>;
  /** Missing keys are omitted, not errors. */
  getValues(ctx: CallContext, keys?: string[]): Promise<ConfigValue[]>;
  /** Creates or overwrites one key; returns the stored key without its value. */
  setValue(ctx: CallContext, key: string, input: { value: string; data_type: string }): Promise<ConfigKey>;
  /** Idempotent: deleting a missing key succeeds. */
  deleteKey(ctx: CallContext, key: string): Promise<void>;
  /** Where the keys live, for people (e.g. `ssm://us-east-1/acme/api/`), or null. */
  describePrefix?(ctx: CallContext): Promise<string | null>;
  /** The cheapest call that proves the endpoint answers and accepts the credentials. */
  checkConnection?(ctx: CheckContext): Promise<ConnectionCheck>;
}

/** Filter operators of a log search. */
export type FilterOp = "eq" | "ne" | "contains" | "starts_with" | "regex";

/** One field filter of a log search. */
export interface LogFilter {
  /** `message`, `level`, `timestamp`, or a field of the entries. */
  field: string;
  /** How the field's value is compared. */
  op: FilterOp;
  /** What it is compared with (a pattern for `regex`). */
  value: string;
}

/** A log search query. Times are ISO 8601 strings. */
export interface LogQuery {
  /** Start of the window (inclusive). */
  start: string;
  /** End of the window (inclusive). */
  end: string;
  /** Every filter must match. */
  filters: LogFilter[];
  /** Any of these levels matches; empty: every level. */
  levels: string[];
  /** Most entries on one page, 1 to 1000. */
  limit: number;
  /** The `next_cursor` of the page before, to continue. */
  cursor?: string;
}

/** One log entry. */
export interface LogEntry {
  /** When it happened, ISO 8601. */
  timestamp: string;
  /** The level, lower-case where the backend has one. */
  level?: string;
  /** The log line's message. */
  message: string;
  /** Every other field of the entry. */
  fields: Record<string, unknown>;
}

/** A page of log entries, newest first. */
export interface LogPage {
  /** At most `limit` entries, newest first. */
  entries: LogEntry[];
  /** Present when more entries match: pass it back as `cursor`. */
  next_cursor?: string;
  /** What the user should know about the answer (a window cut short, ...). */
  warnings: string[];
}

/** One searchable log field. */
export interface LogField {
  /** The name filters use. */
  name: string;
  /** What the user sees. */
  label: string;
  /** A type hint for the UI: `datetime`, `keyword`, `text`, `number`, ... */
  type: string;
}

/** One histogram bucket. */
export interface HistogramBucket {
  /** Start of the bucket, ISO 8601. */
  timestamp: string;
  /** Entries in the bucket. */
  count: number;
  /** Entries in the bucket per level. */
  levels: Record<string, number>;
}

/** The Logs protocol (`plugin_type: "logs"`). */
export interface LogsHandler {
  /** One page of matching entries, newest first. */
  search(ctx: CallContext, query: LogQuery): Promise<LogPage>;
  /** The fields entries carry, for filter pickers. */
  schema?(ctx: CallContext): Promise<LogField[]>;
  /** Counts per time bucket over the query's window (advertised by `hints.supports_histogram`). */
  histogram?(ctx: CallContext, query: LogQuery, buckets: number): Promise<HistogramBucket[]>;
  /** The cheapest call that proves the endpoint answers and accepts the credentials. */
  checkConnection?(ctx: CheckContext): Promise<ConnectionCheck>;
}

/** A handler class as a package exports it: constructible, with a static manifest. */
export interface HandlerClass {
  /** What the host reads before it constructs anything. */
  readonly manifest: PluginManifest;
  /** Constructs the handler of one Plugin node. */
  new (init: HandlerInit): ConfigurationHandler | LogsHandler;
}

/** Methods the host may call, per plugin type. */
export const PROTOCOL_METHODS = {
  configuration: ["listKeys", "getValues", "setValue", "deleteKey", "describePrefix", "checkConnection"],
  logs: ["search", "schema", "histogram", "checkConnection"],
} as const satisfies Record<PluginType, readonly string[]>;

/** Any method name of any protocol. */
export type ProtocolMethod = (typeof PROTOCOL_METHODS)[PluginType][number];
