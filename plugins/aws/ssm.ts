/**
 * `aws-ssm`: configuration on AWS Systems Manager Parameter Store.
 *
 * The rendered `search_template` is a parameter path (`/acme/api` or
 * `/acme/api/`); keys are parameter names below it, relative to it
 * (`DATABASE_URL`, `db/password`). Data types map to parameter types:
 * `string` -> String, `string_list` -> StringList, `secure_string` ->
 * SecureString (secret; values are read with decryption).
 *
 * @module
 */

import * as sdk from "@imbi/plugin-sdk";
import { AWS_CREDENTIALS, AwsJsonClient, type AwsOptions, endpointOption, REGION_OPTION } from "./_aws.ts";

const TYPES = [
  { name: "string", label: "String", secret: false, ssm: "String" },
  { name: "string_list", label: "String list (comma-separated)", secret: false, ssm: "StringList" },
  { name: "secure_string", label: "Secure string", secret: true, ssm: "SecureString" },
] as const;

const KEY_PATTERN = /^[A-Za-z0-9_.\-]+(\/[A-Za-z0-9_.\-]+)*$/;

interface Parameter {
  Name: string;
  Type: string;
  Value?: string;
  LastModifiedDate?: number | string;
}

/** Options of an `aws-ssm` capability. */
export interface SsmOptions extends AwsOptions {
  /** Customer-managed KMS key for SecureString writes; AWS's default key when unset. */
  kms_key_id?: string;
}

function normalisePrefix(template: string): string {
  const trimmed = template.trim().replace(/\/+$/, "");
  if (trimmed === "") return "/";
  const prefix = trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
  if (!/^(\/[A-Za-z0-9_.\-]+)+$/.test(prefix)) {
    throw new sdk.InvalidInput(`The search_template ${JSON.stringify(template)} is not a parameter path`);
  }
  return prefix;
}

function toIso(date: number | string | undefined): string | undefined {
  if (date === undefined) return undefined;
  const ms = typeof date === "number" ? date * 1000 : Date.parse(date);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Configuration on Parameter Store, under the rendered search_template path. */
export class SsmConfiguration implements sdk.ConfigurationHandler {
  /** The `aws-ssm` manifest. */
  static manifest: sdk.PluginManifest = {
    slug: "aws-ssm",
    name: "AWS SSM Parameter Store",
    description: "Configuration in AWS Systems Manager Parameter Store, under the binding's path " +
      "(search_template, e.g. /{org.slug}/{project.slug}).",
    plugin_type: "configuration",
    api_version: "^1.0.0",
    options: {
      type: "object",
      properties: {
        region: REGION_OPTION,
        endpoint: endpointOption("ssm"),
        kms_key_id: { type: "string", description: "KMS key for SecureString values (default: aws/ssm)" },
      },
      additionalProperties: false,
    },
    credentials: AWS_CREDENTIALS,
    network: { hosts: ["{endpoint}"] },
    timeout_ms: 10_000,
    data_types: TYPES.map(({ name, label, secret }) => ({ name, label, secret })),
    hints: { cacheable: true },
  };

  #client: AwsJsonClient;
  #kmsKeyId: string | undefined;

  /** @param init Options (region, endpoint, kms_key_id), AWS credentials and the service. */
  constructor(init: sdk.HandlerInit) {
    const options = init.options as unknown as SsmOptions;
    this.#client = new AwsJsonClient(init, "ssm", "AmazonSSM");
    this.#kmsKeyId = options.kms_key_id;
  }

  #describe(prefix: string, p: Parameter): sdk.ConfigKey {
    const type = TYPES.find((t) => t.ssm === p.Type) ?? TYPES[0];
    const modified = toIso(p.LastModifiedDate);
    return {
      key: p.Name.slice(prefix === "/" ? 1 : prefix.length + 1),
      data_type: type.name,
      secret: type.secret,
      ...(modified ? { last_modified: modified } : {}),
    };
  }

  async #byPath(prefix: string, decrypt: boolean): Promise<Parameter[]> {
    const out: Parameter[] = [];
    const body = { Path: prefix, Recursive: true, WithDecryption: decrypt, MaxResults: 10 };
    for await (
      const page of this.#client.pages<{ Parameters?: Parameter[] }>("GetParametersByPath", "NextToken", body)
    ) {
      out.push(...(page.Parameters ?? []));
    }
    return out;
  }

  #name(prefix: string, key: string): string {
    if (!KEY_PATTERN.test(key)) {
      throw new sdk.InvalidInput(
        `The key ${JSON.stringify(key)} is not a parameter name (letters, digits, _ . - and /)`,
      );
    }
    return prefix === "/" ? `/${key}` : `${prefix}/${key}`;
  }

  /** One `DescribeParameters` call: the endpoint answers and accepts the credentials. */
  async checkConnection(_ctx: sdk.CheckContext): Promise<sdk.ConnectionCheck> {
    await this.#client.call("DescribeParameters", { MaxResults: 1 });
    return { checked: [`ssm:DescribeParameters answered on ${this.#client.host} (region ${this.#client.region})`] };
  }

  /** Every parameter under the path, without values. */
  async listKeys(ctx: sdk.CallContext): Promise<sdk.ConfigKey[]> {
    const prefix = normalisePrefix(ctx.search_template);
    const params = await this.#byPath(prefix, false);
    return params.map((p) => this.#describe(prefix, p)).sort(sdk.byKey);
  }

  /** Values (decrypted) of every parameter, or of `keys`; missing keys are omitted. */
  async getValues(ctx: sdk.CallContext, keys?: string[]): Promise<sdk.ConfigValue[]> {
    const prefix = normalisePrefix(ctx.search_template);
    let params: Parameter[];
    if (keys === undefined) {
      params = await this.#byPath(prefix, true);
    } else {
      const names = [...new Set(keys.filter((k) => KEY_PATTERN.test(k)).map((k) => this.#name(prefix, k)))];
      params = [];
      for (let i = 0; i < names.length; i += 10) {
        const page = await this.#client.call<{ Parameters?: Parameter[] }>("GetParameters", {
          Names: names.slice(i, i + 10),
          WithDecryption: true,
        });
        params.push(...(page.Parameters ?? []));
      }
    }
    return params
      .map((p) => ({ ...this.#describe(prefix, p), value: p.Value ?? "" }))
      .sort(sdk.byKey);
  }

  /** Creates or overwrites a parameter with the type of `data_type`. */
  async setValue(
    ctx: sdk.CallContext,
    key: string,
    input: { value: string; data_type: string },
  ): Promise<sdk.ConfigKey> {
    const prefix = normalisePrefix(ctx.search_template);
    const type = sdk.findDataType(TYPES, input.data_type);
    if (typeof input.value !== "string" || input.value === "") {
      throw new sdk.InvalidInput("Parameter Store values must be non-empty strings");
    }
    await this.#client.call("PutParameter", {
      Name: this.#name(prefix, key),
      Value: input.value,
      Type: type.ssm,
      Overwrite: true,
      ...(type.ssm === "SecureString" && this.#kmsKeyId ? { KeyId: this.#kmsKeyId } : {}),
    });
    return { key, data_type: type.name, secret: type.secret };
  }

  /** Deletes a parameter; a missing one is not an error. */
  async deleteKey(ctx: sdk.CallContext, key: string): Promise<void> {
    const prefix = normalisePrefix(ctx.search_template);
    try {
      await this.#client.call("DeleteParameter", { Name: this.#name(prefix, key) });
    } catch (error) {
      if ((error as { kind?: string }).kind !== "not_found") throw error;
    }
  }

  /** Where the keys live, e.g. `ssm://us-east-1/acme/api/`. */
  describePrefix(ctx: sdk.CallContext): Promise<string | null> {
    const prefix = normalisePrefix(ctx.search_template);
    return Promise.resolve(`ssm://${this.#client.region}${prefix === "/" ? "/" : `${prefix}/`}`);
  }
}
