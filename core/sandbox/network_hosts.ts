/**
 * Turns a manifest's `network.hosts` into the exact `host:port` entries a
 * plugin process is started with (`--allow-net=...`, spec sections 2.1 and 5).
 *
 * @module
 */

import type { PluginManifest, ServiceInfo } from "@imbi/plugin-sdk/types";
import { ValidationError } from "../errors.ts";

/** Service fields a `{placeholder}` may name when no option of that name is set. */
const SERVICE_FIELDS = ["region", "base_url", "account", "vendor", "slug"] as const;

/** Default ports of URL schemes; a URL of any other scheme must name its port. */
const SCHEME_PORTS: Record<string, number> = { "http:": 80, "https:": 443, "ws:": 80, "wss:": 443 };

/** The port of an entry that names none. */
const DEFAULT_PORT = 443;

const PLACEHOLDER = /\{([^{}]*)\}/g;
const PLACEHOLDER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
const IPV6_BODY = /^[0-9a-f:.]+$/;

/** Where a placeholder's value came from, for error pointers. */
interface Filled {
  value: string;
  pointer: string;
}

/**
 * Computes the `--allow-net` entries of one installed capability.
 *
 * Each manifest entry is `host` or `host:port`, possibly with `{placeholder}`s
 * filled from the options first, then the service's `region`, `base_url`,
 * `account`, `vendor` and `slug`. A placeholder value that is a URL reduces to
 * its `host:port` (the scheme's port when it names none: http/ws 80,
 * https/wss 443). An entry without a port gets 443. IPv6 addresses stay in
 * brackets.
 *
 * @param manifest The handler's manifest.
 * @param values The Plugin node's options (defaults applied) and its service's fields.
 * @returns Sorted, de-duplicated `host:port` entries; every entry has a port.
 * @throws {ValidationError} When a placeholder cannot be filled (pointer
 *   `/options/<name>`), a URL value has no port and no known scheme, or an
 *   entry is not a plain host after substitution (`*`, empty, spaces,
 *   slashes, userinfo, bad port).
 * @example
 * ```ts
 * computeNetHosts(manifest, { options: { endpoint: "http://127.0.0.1:4566/x" }, service });
 * // ["127.0.0.1:4566", "ssm.us-east-1.amazonaws.com:443"]
 * ```
 */
export function computeNetHosts(
  manifest: PluginManifest,
  values: { options: Record<string, unknown>; service: ServiceInfo },
): string[] {
  return [...computeNetHostSources(manifest, values).keys()].sort();
}

/**
 * The entries of {@linkcode computeNetHosts}, each with where its value came
 * from: `/options/<name>` or `/service/<name>` when a placeholder filled it
 * (the last one), else `/network/hosts/<i>` of the manifest.
 *
 * @param manifest The handler's manifest.
 * @param values The Plugin node's options (defaults applied) and its service's fields.
 * @returns `host:port` → pointer, in manifest order (the first source of a repeated entry).
 * @throws {ValidationError} As {@linkcode computeNetHosts}.
 */
export function computeNetHostSources(
  manifest: PluginManifest,
  values: { options: Record<string, unknown>; service: ServiceInfo },
): Map<string, string> {
  const hosts = manifest.network?.hosts;
  if (!Array.isArray(hosts)) {
    throw new ValidationError(`Plugin "${manifest.slug}": network.hosts must be a list`, [
      { pointer: "/network/hosts", message: "must be a list of host or host:port strings" },
    ]);
  }
  const result = new Map<string, string>();
  hosts.forEach((entry, index) => {
    const { host, pointer } = expandEntry(manifest.slug, entry, index, values);
    if (!result.has(host)) result.set(host, pointer);
  });
  return result;
}

function expandEntry(
  slug: string,
  entry: unknown,
  index: number,
  values: { options: Record<string, unknown>; service: ServiceInfo },
): { host: string; pointer: string } {
  if (typeof entry !== "string") {
    throw invalid(slug, String(entry), `/network/hosts/${index}`, "is not a string");
  }
  if (/[{}]/.test(entry.replace(PLACEHOLDER, ""))) {
    throw invalid(slug, entry, `/network/hosts/${index}`, "has an unbalanced { or }");
  }
  // A whole-entry placeholder may be a URL; its host:port stands for the entry.
  let lastPointer = `/network/hosts/${index}`;
  const substituted = entry.replace(PLACEHOLDER, (_match, name: string) => {
    if (!PLACEHOLDER_NAME.test(name)) {
      throw invalid(slug, entry, `/network/hosts/${index}`, `has an invalid placeholder {${name}}`);
    }
    const filled = fill(slug, entry, name, values);
    lastPointer = filled.pointer;
    return URL_LIKE.test(filled.value) ? reduceUrl(slug, entry, name, filled) : filled.value;
  });
  return { host: normalise(slug, entry, substituted, lastPointer), pointer: lastPointer };
}

function fill(
  slug: string,
  entry: string,
  name: string,
  values: { options: Record<string, unknown>; service: ServiceInfo },
  nested = false,
): Filled {
  const fromOptions = Object.hasOwn(values.options, name) ? values.options[name] : undefined;
  if (fromOptions !== undefined && fromOptions !== null) {
    if (typeof fromOptions !== "string" || fromOptions.trim() === "") {
      throw unfilled(slug, entry, name, "is not a non-empty string");
    }
    const pointer = `/options/${name}`;
    // An option's value may itself hold placeholders (an endpoint default like
    // "https://ssm.{region}.amazonaws.com"); they are filled once, never deeper.
    const value = fromOptions.trim().replace(PLACEHOLDER, (_match, inner: string) => {
      if (nested || inner === name || !PLACEHOLDER_NAME.test(inner)) {
        throw invalid(slug, entry, pointer, `option "${name}" holds a placeholder {${inner}} that cannot be filled`);
      }
      return fill(slug, entry, inner, values, true).value;
    });
    return { value, pointer };
  }
  if ((SERVICE_FIELDS as readonly string[]).includes(name)) {
    const fromService = values.service[name as (typeof SERVICE_FIELDS)[number]];
    if (typeof fromService === "string" && fromService.trim() !== "") {
      return { value: fromService.trim(), pointer: `/service/${name}` };
    }
  }
  throw unfilled(slug, entry, name, "has no value in the options or the service");
}

function reduceUrl(slug: string, entry: string, name: string, filled: Filled): string {
  let url: URL;
  try {
    url = new URL(filled.value);
  } catch {
    throw invalid(slug, entry, filled.pointer, `placeholder {${name}} is not a valid URL`);
  }
  if (url.username !== "" || url.password !== "") {
    throw invalid(slug, entry, filled.pointer, `placeholder {${name}} is a URL with userinfo`);
  }
  if (url.hostname === "") {
    throw invalid(slug, entry, filled.pointer, `placeholder {${name}} is a URL without a host`);
  }
  const port = url.port !== "" ? Number(url.port) : SCHEME_PORTS[url.protocol];
  if (port === undefined) {
    throw invalid(
      slug,
      entry,
      filled.pointer,
      `placeholder {${name}} is a ${url.protocol.slice(0, -1)} URL without a port`,
    );
  }
  return `${url.hostname}:${port}`;
}

function normalise(slug: string, entry: string, host: string, pointer: string): string {
  const fail = (why: string) => invalid(slug, entry, pointer, why);
  if (host === "") throw fail("is empty");
  if (host.includes("*")) throw fail("is a wildcard; list exact hosts");
  if (/\s/.test(host)) throw fail("contains whitespace");
  if (/[/\\?#]/.test(host)) throw fail("contains a path, query or fragment");
  if (host.includes("@")) throw fail("contains userinfo");
  let name: string;
  let portText: string | undefined;
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0) throw fail("has an unclosed IPv6 bracket");
    name = host.slice(0, close + 1).toLowerCase();
    const rest = host.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) throw fail("has text after the IPv6 address");
    portText = rest === "" ? undefined : rest.slice(1);
    const body = name.slice(1, -1);
    if (!IPV6_BODY.test(body) || !body.includes(":")) throw fail("is not a valid IPv6 address");
  } else {
    const parts = host.split(":");
    if (parts.length > 2) throw fail("has more than one ':' (put IPv6 addresses in brackets)");
    name = parts[0]!.toLowerCase();
    portText = parts[1];
    if (name === "") throw fail("has an empty host");
    if (!name.split(".").every((label) => HOST_LABEL.test(label))) {
      throw fail("is not a valid host name");
    }
  }
  let port = DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) throw fail("has an invalid port");
    port = Number(portText);
    if (port < 1 || port > 65535) throw fail("has a port outside 1-65535");
  }
  return `${name}:${port}`;
}

function unfilled(slug: string, entry: string, name: string, why: string): ValidationError {
  const message = `Plugin "${slug}": network host "${entry}" needs placeholder {${name}}, which ${why}`;
  return new ValidationError(message, [{ pointer: `/options/${name}`, message }]);
}

function invalid(slug: string, entry: string, pointer: string, why: string): ValidationError {
  const message = `Plugin "${slug}": network host "${entry}" ${why}`;
  return new ValidationError(message, [{ pointer, message }]);
}
