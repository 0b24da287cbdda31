/**
 * What the AWS entry points share: the credential fields, the region and
 * endpoint options, and a signed AWS JSON-protocol client whose failures are
 * mapped onto the SDK's typed errors.
 *
 * @module
 */

import { AwsClient } from "aws4fetch";
import {
  type CredentialField,
  CredentialsRejected,
  type HandlerInit,
  InvalidInput,
  NotFound,
  PluginError,
  RateLimited,
  UpstreamUnavailable,
} from "@imbi/plugin-sdk";

/** One AWS service application serves both entry points: these fields. */
export const AWS_CREDENTIALS: CredentialField[] = [
  { name: "access_key_id", label: "Access key ID", secret: false },
  { name: "secret_access_key", label: "Secret access key" },
  { name: "session_token", label: "Session token", required: false, multiline: true },
];

/** The `region` option: overrides the service's region. */
export const REGION_OPTION = {
  type: "string",
  pattern: "^[a-z]{2}(-[a-z]+)+-[0-9]+$",
  description: "AWS region; defaults to the service's region",
};

/**
 * The `endpoint` option schema of one AWS service. The default names the
 * regional endpoint with a `{region}` placeholder, filled from the `region`
 * option or the service's region; set it to reach a VPC endpoint, a FIPS
 * endpoint or a local emulator. It is the plugin's only network host.
 *
 * @param service The AWS endpoint prefix, e.g. `"ssm"` or `"logs"`.
 * @returns The JSON Schema of the option.
 */
export function endpointOption(service: string): Record<string, unknown> {
  return {
    type: "string",
    default: `https://${service}.{region}.amazonaws.com`,
    description: `Base URL of the ${service} API; {region} is filled from the region option or the service`,
  };
}

/** Options both entry points understand. */
export interface AwsOptions {
  /** The region; the service's when absent. */
  region?: string;
  /** Base URL of the API, `{region}` filled in. */
  endpoint: string;
}

/** Error codes AWS returns for credentials it will not accept. */
const CREDENTIAL_CODES = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignature",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredTokenException",
  "ExpiredToken",
  "AccessDeniedException",
  "MissingAuthenticationToken",
]);
const THROTTLE_CODES = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyUpdates",
  "RequestLimitExceeded",
  "TooManyRequestsException",
]);
const NOT_FOUND_CODES = new Set(["ParameterNotFound", "ResourceNotFoundException", "ParameterVersionNotFound"]);

/**
 * Maps an AWS JSON-protocol error onto the typed set.
 *
 * @param error The HTTP status, the error code (`__type` without its
 *   namespace) and AWS's message (which never contains the credentials).
 * @param what The call, e.g. `"SSM PutParameter"`.
 * @returns The error to throw.
 */
export function awsError(error: { status: number; code: string; message: string }, what: string): PluginError {
  const { status, code, message } = error;
  const text = `${what} failed: ${code}${message ? `: ${message}` : ""}`;
  if (CREDENTIAL_CODES.has(code)) return new CredentialsRejected(text);
  if (THROTTLE_CODES.has(code) || status === 429) return new RateLimited(text, { retryAfter: 1 });
  if (NOT_FOUND_CODES.has(code)) return new NotFound(text);
  if (status >= 500 || code === "ServiceUnavailable" || code === "InternalFailure") {
    return new UpstreamUnavailable(text);
  }
  if (status === 401 || status === 403) return new CredentialsRejected(text);
  return new InvalidInput(text);
}

/**
 * Reads the AWS error code of a JSON-protocol response: `__type` (possibly
 * `namespace#Code`), the `x-amzn-ErrorType` header (`Code:detail`), or the
 * `<Code>` of an XML error document (some front ends answer auth failures so).
 */
function errorCode(headers: Headers, body: Record<string, unknown>, text: string): string {
  const xmlCode = text.match(/<Code>([^<]+)<\/Code>/)?.[1];
  const raw = String(body.__type ?? body.code ?? headers.get("x-amzn-errortype") ?? xmlCode ?? "UnknownError");
  return raw.split("#").pop()!.split(":")[0]!;
}

/** A signed client of one AWS JSON-protocol service (`X-Amz-Target` calls). */
export class AwsJsonClient {
  #client: AwsClient;
  #endpoint: URL;
  #targetPrefix: string;
  #label: string;
  /** A configuration problem found at construction, thrown by every call. */
  #problem: PluginError | undefined;
  /** The region requests are signed for. */
  readonly region: string;

  /**
   * Makes the client of one service for one handler.
   *
   * @param init The handler's init (credentials, options, service).
   * @param service The signing name and endpoint prefix (`"ssm"`, `"logs"`).
   * @param targetPrefix The `X-Amz-Target` prefix, e.g. `"AmazonSSM"`.
   * A missing region, a bad endpoint or empty key fields are reported by
   * every call (`invalid_input`, `credentials_rejected`), not thrown here.
   */
  constructor(init: HandlerInit, service: string, targetPrefix: string) {
    const options = init.options as Partial<AwsOptions>;
    this.#targetPrefix = targetPrefix;
    this.#label = service.toUpperCase();
    this.region = options.region ?? init.service.region ?? "";
    const endpoint = (options.endpoint ?? `https://${service}.{region}.amazonaws.com`).replaceAll(
      "{region}",
      this.region,
    );
    const { access_key_id: accessKeyId, secret_access_key: secretAccessKey, session_token: sessionToken } =
      init.credentials;
    if (!this.region) {
      this.#problem = new InvalidInput("No AWS region: set the region option or the service's region");
    } else if (!URL.canParse(endpoint)) {
      this.#problem = new InvalidInput(`The endpoint option ${JSON.stringify(endpoint)} is not a URL`);
    } else if (!accessKeyId || !secretAccessKey) {
      this.#problem = new CredentialsRejected("The AWS access key is not configured");
    }
    this.#endpoint = new URL(URL.canParse(endpoint) ? endpoint : "https://invalid.invalid");
    this.#client = new AwsClient({
      accessKeyId: accessKeyId ?? "",
      secretAccessKey: secretAccessKey ?? "",
      ...(sessionToken ? { sessionToken } : {}),
      service,
      region: this.region || "us-east-1",
      retries: 0,
    });
  }

  /** The endpoint's `host` (for describing where data lives). */
  get host(): string {
    return this.#endpoint.host;
  }

  /**
   * Calls one action.
   *
   * @param action The action name, e.g. `"GetParametersByPath"`.
   * @param body The request document.
   * @returns The response document.
   * @throws {PluginError} The typed failure of the call.
   */
  async call<T = Record<string, unknown>>(action: string, body: Record<string, unknown>): Promise<T> {
    const what = `${this.#label} ${action}`;
    if (this.#problem) throw this.#problem;
    let response: Response;
    try {
      response = await this.#client.fetch(this.#endpoint.href, {
        method: "POST",
        headers: {
          "content-type": "application/x-amz-json-1.1",
          "x-amz-target": `${this.#targetPrefix}.${action}`,
        },
        body: JSON.stringify(body),
      });
    } catch (cause) {
      throw new UpstreamUnavailable(`${what}: cannot reach ${this.#endpoint.host}`, { cause });
    }
    const text = await response.text();
    let document: Record<string, unknown> = {};
    try {
      document = text ? JSON.parse(text) : {};
    } catch {
      if (response.ok) throw new UpstreamUnavailable(`${what}: the response is not JSON`);
    }
    if (!response.ok) {
      const message = String(document.message ?? document.Message ?? text.match(/<Message>([^<]*)</)?.[1] ?? "");
      throw awsError({ status: response.status, code: errorCode(response.headers, document, text), message }, what);
    }
    return document as T;
  }

  /**
   * Calls a paged action page after page, following its next-page token
   * until a page has none (or the caller stops iterating).
   *
   * @param action The action name, e.g. `"GetParametersByPath"`.
   * @param tokenField The field that carries the token in both the response
   *   and the next request: `"NextToken"` (SSM) or `"nextToken"` (Logs).
   * @param body The request document, or a function that makes it before each page.
   * @returns Every page's response document, with its token field.
   * @throws {PluginError} The typed failure of a call.
   */
  async *pages<T extends Record<string, unknown>>(
    action: string,
    tokenField: string,
    body: Record<string, unknown> | (() => Record<string, unknown>),
  ): AsyncGenerator<T & Record<typeof tokenField, string | undefined>> {
    let token: string | undefined;
    do {
      const request = typeof body === "function" ? body() : body;
      const page = await this.call<T & Record<string, string | undefined>>(
        action,
        token === undefined ? request : { ...request, [tokenField]: token },
      );
      yield page;
      token = page[tokenField];
    } while (token);
  }
}
