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
  name: string;
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
  name: string;
  label: string;
  secret: boolean;
}

/** A handler class's static manifest (spec section 2.1). */
export interface PluginManifest {
  slug: string;
  name: string;
  description?: string;
  plugin_type: PluginType;
  /** A semver range of host plugin-API versions, e.g. `"^1.0.0"`. */
  api_version: string;
  /** JSON Schema (object) of one installed capability's options. */
  options?: Record<string, unknown>;
  credentials?: CredentialField[];
  /** Hosts the handler may reach: `host`, `host:port`, `{placeholder}`s allowed. */
  network: { hosts: string[] };
  timeout_ms?: number;
  data_types?: DataType[];
  hints?: { cacheable?: boolean; supports_histogram?: boolean; [hint: string]: unknown };
}

/** Non-secret fields of the third-party service a capability belongs to. */
export interface ServiceInfo {
  slug: string;
  name: string;
  vendor: string | null;
  base_url: string | null;
  account: string | null;
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
  service: ServiceInfo;
}

/** The per-call context (spec section 2.2). */
export interface CallContext {
  org: { slug: string };
  project: { id: string; slug: string; name: string; project_types: string[] };
  /** The binding's `search_template`, rendered for this project. */
  search_template: string;
  environment?: string;
  request_id: string;
}

/** A configuration key without its value. */
export interface ConfigKey {
  key: string;
  data_type: string;
  secret: boolean;
  last_modified?: string;
}

/** A configuration key with its value. */
export interface ConfigValue extends ConfigKey {
  value: string;
}

/** The Configuration protocol (`plugin_type: "configuration"`). */
export interface ConfigurationHandler {
  listKeys(ctx: CallContext): Promise<ConfigKey[]>;
  /** Missing keys are omitted, not errors. */
  getValues(ctx: CallContext, keys?: string[]): Promise<ConfigValue[]>;
  setValue(ctx: CallContext, key: string, input: { value: string; data_type: string }): Promise<ConfigKey>;
  /** Idempotent: deleting a missing key succeeds. */
  deleteKey(ctx: CallContext, key: string): Promise<void>;
  describePrefix?(ctx: CallContext): Promise<string | null>;
}

/** Filter operators of a log search. */
export type FilterOp = "eq" | "ne" | "contains" | "starts_with" | "regex";

/** One field filter of a log search. */
export interface LogFilter {
  field: string;
  op: FilterOp;
  value: string;
}

/** A log search query. Times are ISO 8601 strings. */
export interface LogQuery {
  start: string;
  end: string;
  filters: LogFilter[];
  levels: string[];
  limit: number;
  cursor?: string;
}

/** One log entry. */
export interface LogEntry {
  timestamp: string;
  level?: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A page of log entries, newest first. */
export interface LogPage {
  entries: LogEntry[];
  next_cursor?: string;
  warnings: string[];
}

/** One searchable log field. */
export interface LogField {
  name: string;
  label: string;
  type: string;
}

/** One histogram bucket. */
export interface HistogramBucket {
  timestamp: string;
  count: number;
  levels: Record<string, number>;
}

/** The Logs protocol (`plugin_type: "logs"`). */
export interface LogsHandler {
  search(ctx: CallContext, query: LogQuery): Promise<LogPage>;
  schema?(ctx: CallContext): Promise<LogField[]>;
  histogram?(ctx: CallContext, query: LogQuery, buckets: number): Promise<HistogramBucket[]>;
}

/** A handler class as a package exports it: constructible, with a static manifest. */
export interface HandlerClass {
  readonly manifest: PluginManifest;
  new (init: HandlerInit): ConfigurationHandler | LogsHandler;
}

/** Methods the host may call, per plugin type. */
export const PROTOCOL_METHODS = {
  configuration: ["listKeys", "getValues", "setValue", "deleteKey", "describePrefix"],
  logs: ["search", "schema", "histogram"],
} as const satisfies Record<PluginType, readonly string[]>;

/** Any method name of any protocol. */
export type ProtocolMethod = (typeof PROTOCOL_METHODS)[PluginType][number];
