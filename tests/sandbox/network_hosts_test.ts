import assert from "node:assert/strict";
import type { PluginManifest, ServiceInfo } from "@imbi/plugin-sdk/types";
import { ValidationError } from "../../core/errors.ts";
import { computeNetHosts } from "../../core/sandbox/network_hosts.ts";
import { thrown } from "../support/thrown.ts";

const service: ServiceInfo = {
  slug: "aws-prod",
  name: "AWS production",
  vendor: "aws",
  base_url: "https://console.aws.example:8443/home",
  account: "123456789012",
  region: "eu-west-1",
};

function manifest(hosts: string[]): PluginManifest {
  return { slug: "aws-ssm", name: "SSM", plugin_type: "configuration", api_version: "^1.0.0", network: { hosts } };
}

function hosts(entries: string[], options: Record<string, unknown> = {}, svc: ServiceInfo = service): string[] {
  return computeNetHosts(manifest(entries), { options, service: svc });
}

function rejects(entries: string[], options: Record<string, unknown> = {}): ValidationError {
  return thrown(() => hosts(entries, options), ValidationError);
}

Deno.test("computeNetHosts() gives port 443 to an entry without a port and keeps explicit ports", () => {
  assert.deepEqual(hosts(["api.example.com", "db.example.com:5432"]), ["api.example.com:443", "db.example.com:5432"]);
});

Deno.test("computeNetHosts() returns an empty list for a manifest without hosts", () => {
  assert.deepEqual(hosts([]), []);
});

Deno.test("computeNetHosts() fills placeholders from the options before the service", () => {
  assert.deepEqual(hosts(["ssm.{region}.amazonaws.com"], { region: "us-east-2" }), ["ssm.us-east-2.amazonaws.com:443"]);
  assert.deepEqual(hosts(["ssm.{region}.amazonaws.com"]), ["ssm.eu-west-1.amazonaws.com:443"]);
  assert.deepEqual(hosts(["{vendor}.{account}.{slug}.example:9000"]), ["aws.123456789012.aws-prod.example:9000"]);
});

Deno.test("computeNetHosts() reduces a URL value to host:port with the scheme's default port", () => {
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "http://127.0.0.1:4566/x" }), ["127.0.0.1:4566"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "http://localhost/" }), ["localhost:80"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "https://vault.example/v1" }), ["vault.example:443"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "ws://events.example" }), ["events.example:80"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "wss://events.example" }), ["events.example:443"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "https://vault.example:443" }), ["vault.example:443"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "redis://cache.example:6379" }), ["cache.example:6379"]);
  assert.deepEqual(hosts(["{base_url}"]), ["console.aws.example:8443"]);
});

Deno.test("computeNetHosts() rejects a URL of another scheme without a port", () => {
  const error = rejects(["{endpoint}"], { endpoint: "redis://cache.example" });
  assert.deepEqual(error.errors[0]?.pointer, "/options/endpoint");
  assert.deepEqual(error.message.includes("redis URL without a port"), true);
});

Deno.test("computeNetHosts() rejects a URL with userinfo", () => {
  rejects(["{endpoint}"], { endpoint: "https://user:secret@vault.example" });
});

Deno.test("computeNetHosts() keeps IPv6 addresses in brackets", () => {
  assert.deepEqual(hosts(["[::1]:8200", "[2001:DB8::1]"]), ["[2001:db8::1]:443", "[::1]:8200"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "http://[::1]:4566/" }), ["[::1]:4566"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint: "https://[::1]/" }), ["[::1]:443"]);
  rejects(["::1"]);
  rejects(["[::1"]);
  rejects(["[zz::1]:80"]);
});

Deno.test("computeNetHosts() de-duplicates and sorts, and no entry lacks a port", () => {
  const result = hosts(["b.example", "a.example:443", "b.example:443", "A.EXAMPLE", "{endpoint}"], {
    endpoint: "https://b.example",
  });
  assert.deepEqual(result, ["a.example:443", "b.example:443"]);
  for (const entry of result) assert.deepEqual(/:[0-9]+$/.test(entry), true);
});

Deno.test("computeNetHosts() rejects wildcards, empty hosts, whitespace, slashes, userinfo and bad ports", () => {
  rejects(["*"]);
  rejects(["*.example.com"]);
  rejects([""]);
  rejects([":443"]);
  rejects(["{prefix}.example"], { prefix: "a b" });
  rejects(["{host}"], { host: "example.com/path" });
  rejects(["{host}"], { host: "user@example.com" });
  rejects(["example.com:0"]);
  rejects(["example.com:65536"]);
  rejects(["example.com:http"]);
  rejects(["example.com:80:90"]);
  rejects(["{endpoint}:9000"], { endpoint: "http://127.0.0.1:4566" });
  rejects(["bad_{"]);
});

Deno.test("computeNetHosts() throws ValidationError naming the entry and placeholder when one cannot be filled", () => {
  for (const options of [{}, { bucket: "" }, { bucket: 42 }, { bucket: "  " }]) {
    const error = rejects(["{bucket}.s3.amazonaws.com"], options);
    assert.deepEqual(error.errors, [{ pointer: "/options/bucket", message: error.message }]);
    assert.deepEqual(error.message.includes('"{bucket}.s3.amazonaws.com"'), true);
    assert.deepEqual(error.message.includes("{bucket}"), true);
  }
  // A service field that is null does not fill its placeholder.
  const error = thrown(() => hosts(["logs.{region}.example"], {}, { ...service, region: null }), ValidationError);
  assert.deepEqual(error.errors[0]?.pointer, "/options/region");
  // Service fields other than the listed ones are not placeholders.
  assert.deepEqual(rejects(["{name}.example"]).errors[0]?.pointer, "/options/name");
});

Deno.test("computeNetHosts() fills placeholders inside an option's value once (an endpoint default with {region})", () => {
  const endpoint = "https://ssm.{region}.amazonaws.com";
  assert.deepEqual(hosts(["{endpoint}"], { endpoint }), ["ssm.eu-west-1.amazonaws.com:443"]);
  assert.deepEqual(hosts(["{endpoint}"], { endpoint, region: "us-east-2" }), ["ssm.us-east-2.amazonaws.com:443"]);
  const self = rejects(["{endpoint}"], { endpoint: "https://{endpoint}.example" });
  assert.equal(self.errors[0]!.pointer, "/options/endpoint");
  const deeper = rejects(["{endpoint}"], { endpoint: "https://{inner}.example", inner: "{region}" });
  assert.match(deeper.message + JSON.stringify(deeper.errors), /cannot be filled/);
});
