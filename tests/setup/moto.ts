/**
 * Test service: `moto_server` (moto from PyPI) on loopback, standing in for
 * AWS SSM Parameter Store and CloudWatch Logs.
 *
 * Install: reuses a `moto_server` on the PATH that starts, else creates a
 * virtualenv under the cache directory and installs `moto[server]` into it.
 *
 * Start: runs moto with IAM authentication switched on after its first three
 * actions, which create an IAM user with an allow-all policy and an access
 * key. So the tests sign with real credentials and moto really rejects
 * unknown keys (`UnrecognizedClientException`) and bad signatures
 * (`InvalidSignatureException`).
 *
 * Exports `IMBI_TEST_MOTO_URL` (`http://127.0.0.1:<port>`),
 * `IMBI_TEST_MOTO_ACCESS_KEY_ID` and `IMBI_TEST_MOTO_SECRET_ACCESS_KEY`.
 *
 * @module
 */

import type { RunningService, TestService } from "./service.ts";
import { freePort } from "../support/local.ts";

const MOTO_REQUIREMENT = "moto[server]>=5.0,<6";

async function works(command: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "null", stderr: "null", stdin: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function run(command: string, args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(command, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const tail = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
    throw new Error(`${what} failed (exit ${out.code}): ${tail}`);
  }
}

function venvServer(cacheDir: string): string {
  return `${cacheDir}/moto-venv/bin/moto_server`;
}

async function serverCommand(cacheDir: string): Promise<string> {
  if (await works(venvServer(cacheDir), ["--help"])) return venvServer(cacheDir);
  if (await works("moto_server", ["--help"])) return "moto_server";
  throw new Error("moto_server is not installed");
}

/** Sends one IAM Query action while moto still accepts unauthenticated calls. */
async function iam(url: string, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ Version: "2010-05-08", ...params });
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: "AWS4-HMAC-SHA256 Credential=AKIABOOTSTRAP/20240101/us-east-1/iam/aws4_request, " +
        "SignedHeaders=host, Signature=0",
    },
    body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`moto IAM ${params.Action} answered ${response.status}: ${text.slice(0, 200)}`);
  return text;
}

async function waitUntilUp(url: string, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(`${url}/moto-api/data.json`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(exited ? "moto_server exited during start" : "moto_server did not answer within 30 s");
}

/** moto_server on loopback with IAM authentication and one allow-all access key. */
export const service: TestService = {
  name: "moto",
  async install(cacheDir, progress) {
    if (await works(venvServer(cacheDir), ["--help"]) || await works("moto_server", ["--help"])) return;
    progress(`installing ${MOTO_REQUIREMENT} into ${cacheDir}/moto-venv`);
    await run("python3", ["-m", "venv", `${cacheDir}/moto-venv`], "python3 -m venv");
    await run(`${cacheDir}/moto-venv/bin/pip`, ["install", "--quiet", MOTO_REQUIREMENT], "pip install moto[server]");
  },
  async start(cacheDir, progress) {
    const command = await serverCommand(cacheDir);
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = new Deno.Command(command, {
      args: ["-H", "127.0.0.1", "-p", String(port)],
      env: { INITIAL_NO_AUTH_ACTION_COUNT: "3", MOTO_ALLOW_NONEXISTENT_REGION: "false" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await waitUntilUp(url, child);
      await iam(url, { Action: "CreateUser", UserName: "imbi-test" });
      await iam(url, {
        Action: "PutUserPolicy",
        UserName: "imbi-test",
        PolicyName: "all",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
        }),
      });
      const keyXml = await iam(url, { Action: "CreateAccessKey", UserName: "imbi-test" });
      const accessKeyId = keyXml.match(/<AccessKeyId>([^<]+)</)?.[1];
      const secretAccessKey = keyXml.match(/<SecretAccessKey>([^<]+)</)?.[1];
      if (!accessKeyId || !secretAccessKey) throw new Error("moto CreateAccessKey returned no key");
      progress(`listening on ${url}`);
      return {
        env: {
          IMBI_TEST_MOTO_URL: url,
          IMBI_TEST_MOTO_ACCESS_KEY_ID: accessKeyId,
          IMBI_TEST_MOTO_SECRET_ACCESS_KEY: secretAccessKey,
        },
        async stop() {
          try {
            child.kill("SIGTERM");
          } catch {
            // already gone
          }
          await child.status;
        },
      } satisfies RunningService;
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      await child.status;
      throw error;
    }
  },
};
