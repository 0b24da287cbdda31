/**
 * Test support for the AWS plugins: moto, a local AWS emulator the test
 * command starts, stands in for AWS. Its address and keys come from the
 * environment (`IMBI_TEST_MOTO_URL`, `IMBI_TEST_MOTO_ACCESS_KEY_ID`,
 * `IMBI_TEST_MOTO_SECRET_ACCESS_KEY`); tests without them are skipped
 * unless `IMBI_TEST_SERVICES=required`. Not part of the plugins' bundle.
 *
 * @module
 */

import { AwsClient } from "aws4fetch";
import type { TestInit } from "@imbi/plugin-sdk/testing";

/** The AWS credential fields, as a service application holds them. */
export type AwsKeys = {
  /** The access key id. */
  access_key_id: string;
  /** The secret access key. */
  secret_access_key: string;
};

/** moto's URL, when the test services run. */
export const motoUrl: string | undefined = Deno.env.get("IMBI_TEST_MOTO_URL");

/** Whether tests against moto must be skipped: it is not running and services are optional. */
export const withoutMoto: boolean = !motoUrl && Deno.env.get("IMBI_TEST_SERVICES") !== "required";

/** The keys moto accepts (empty strings when it is not running). */
export function motoKeys(): AwsKeys {
  return {
    access_key_id: Deno.env.get("IMBI_TEST_MOTO_ACCESS_KEY_ID") ?? "",
    secret_access_key: Deno.env.get("IMBI_TEST_MOTO_SECRET_ACCESS_KEY") ?? "",
  };
}

/**
 * What a handler of this package is constructed with against moto, in
 * `us-east-1`.
 *
 * @param keys The credentials (default: the keys moto accepts).
 * @returns The init for `inProcess`.
 */
export function motoInit(keys: AwsKeys = motoKeys()): TestInit {
  return { options: { endpoint: motoUrl }, credentials: keys, service: { region: "us-east-1" } };
}

/**
 * A client of moto's CloudWatch Logs API, for seeding log groups.
 *
 * @param endpoint moto's URL.
 * @param keys The credentials (default: the keys moto accepts).
 * @returns A function that calls one action and fails with moto's answer when it is not 2xx.
 */
export function cloudWatchLogsApi(
  endpoint: string,
  keys: AwsKeys = motoKeys(),
): (action: string, body: Record<string, unknown>) => Promise<void> {
  const client = new AwsClient({
    accessKeyId: keys.access_key_id,
    secretAccessKey: keys.secret_access_key,
    service: "logs",
    region: "us-east-1",
    retries: 0,
  });
  return async (action, body) => {
    const response = await client.fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `Logs_20140328.${action}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${action}: ${response.status} ${text}`);
  };
}
