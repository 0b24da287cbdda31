/**
 * The operator's egress policy: which `host:port` entries a plugin process
 * may be started with (`--allow-net`). Rules are hosts (`api.example.com`,
 * `*.example.com` for its subdomains, an IP address), `host:port`, or CIDR
 * blocks (`10.0.0.0/8`, `fd00::/8`), from `IMBI_EGRESS_ALLOW`,
 * `IMBI_EGRESS_DENY` (comma lists) and `IMBI_EGRESS_FILE` (JSON
 * `{"allow": [...], "deny": [...]}`, added to them).
 *
 * An entry is decided in this order:
 * 1. a deny rule of the operator's matches: denied;
 * 2. an allow rule matches: allowed (an exact allow can reopen a default deny);
 * 3. a default deny matches: link-local addresses (`169.254.0.0/16`,
 *    `fe80::/10`) and instance-metadata endpoints (`169.254.169.254`,
 *    `fd00:ec2::254`, `metadata.google.internal`): denied;
 * 4. the allow list is not empty: denied (nothing else is allowed);
 * 5. otherwise allowed.
 *
 * Hosts are compared in their canonical form (WHATWG URL host parsing), so
 * `0xa9fea9fe`, `169.254.43518` and `[::ffff:169.254.169.254]` are all
 * `169.254.169.254`. Before a process starts, names are also looked up and
 * their addresses judged by the deny rules ({@linkcode EgressPolicy.firstDeniedByAddress}).
 *
 * @module
 */

/** Where a rule came from, for messages. */
export type RuleSource = "IMBI_EGRESS_ALLOW" | "IMBI_EGRESS_DENY" | "IMBI_EGRESS_FILE" | "default";

/** One parsed rule. */
interface Rule {
  /** As the operator wrote it. */
  text: string;
  source: RuleSource;
  test: (host: Host) => boolean;
  /** True for an exact host or host:port rule (it may reopen a default deny). */
  exact: boolean;
}

/** A canonical host and port. */
interface Host {
  /** Lower-case name, dotted IPv4, or IPv6 without brackets. */
  name: string;
  port: number;
  /** The address's bytes when `name` is an IP address. */
  ip: Uint8Array | undefined;
}

/** The decision on one entry. */
export type EgressDecision =
  | { allowed: true }
  | { allowed: false; entry: string; rule: string; source: RuleSource; reason: string };

/** Looks a name up: the addresses of one record type (`Deno.resolveDns`'s shape). */
export type Resolver = (name: string, type: "A" | "AAAA", signal: AbortSignal) => Promise<string[]>;

function resolveDns(name: string, type: "A" | "AAAA", signal: AbortSignal): Promise<string[]> {
  return Deno.resolveDns(name, type, { signal });
}

/** The built-in deny rules. */
export const DEFAULT_EGRESS_DENY: readonly string[] = [
  "169.254.169.254",
  "fd00:ec2::254",
  "metadata.google.internal",
  "169.254.0.0/16",
  "fe80::/10",
];

/** The egress policy the supervisor and the Plugin node writes consult. */
export class EgressPolicy {
  #deny: Rule[];
  #allow: Rule[];
  #defaults: Rule[];

  /**
   * Builds a policy from rule texts.
   *
   * @param rules Allow and deny rules with where each came from.
   * @throws {SyntaxError} Naming the rule and its source when one is not a host, host:port or CIDR.
   */
  constructor(rules: { allow?: [string, RuleSource][]; deny?: [string, RuleSource][] } = {}) {
    this.#allow = (rules.allow ?? []).map(([text, source]) => parseRule(text, source));
    this.#deny = (rules.deny ?? []).map(([text, source]) => parseRule(text, source));
    this.#defaults = DEFAULT_EGRESS_DENY.map((text) => parseRule(text, "default"));
  }

  /** The rules as the operator wrote them, for the start-up log. */
  describe(): { allow: string[]; deny: string[]; default_deny: readonly string[] } {
    return {
      allow: this.#allow.map((r) => r.text),
      deny: this.#deny.map((r) => r.text),
      default_deny: DEFAULT_EGRESS_DENY,
    };
  }

  /**
   * Decides one `host:port` entry (as `computeNetHosts` returns them).
   *
   * @param entry `host:port`, IPv6 hosts in brackets.
   * @returns Allowed, or denied with the rule and why.
   */
  check(entry: string): EgressDecision {
    const host = parseEntry(entry);
    if (!host) return { allowed: false, entry, rule: entry, source: "default", reason: "is not a host:port entry" };
    const denied = (rule: Rule, why: string): EgressDecision => ({
      allowed: false,
      entry,
      rule: rule.text,
      source: rule.source,
      reason: why,
    });
    const deny = this.#deny.find((r) => r.test(host));
    if (deny) return denied(deny, `is denied by "${deny.text}" (${deny.source})`);
    const allow = this.#allow.find((r) => r.test(host));
    const byDefault = this.#defaults.find((r) => r.test(host));
    if (byDefault && !(allow?.exact)) {
      return denied(
        byDefault,
        `is denied by default: "${byDefault.text}" is a link-local or instance-metadata address ` +
          `(allow the exact host in IMBI_EGRESS_ALLOW to permit it)`,
      );
    }
    if (allow) return { allowed: true };
    if (this.#allow.length > 0) {
      return {
        allowed: false,
        entry,
        rule: "IMBI_EGRESS_ALLOW",
        source: this.#allow[0]!.source,
        reason: `matches no rule of the egress allow list (${this.#allow.map((r) => r.text).join(", ")})`,
      };
    }
    return { allowed: true };
  }

  /**
   * The first entry whose host name resolves (DNS `A` and `AAAA`) to an
   * address an operator's deny rule or a default denial covers, e.g. a name
   * that stands for `169.254.169.254`, unless the name or the address is
   * allowed exactly. Entries that are addresses are left to {@linkcode check};
   * a lookup that fails or takes longer than `timeoutMs` decides nothing. A
   * name may resolve differently later (DNS rebinding): this narrows the gap
   * at the moment a process starts, it does not close it.
   *
   * @param entries `host:port` entries, each already allowed by {@linkcode check}.
   * @param options The resolver (default `Deno.resolveDns`) and the deadline per lookup (default 1000 ms).
   * @returns The first denial, naming the address, or undefined.
   */
  async firstDeniedByAddress(
    entries: readonly string[],
    options: { resolve?: Resolver; timeoutMs?: number } = {},
  ): Promise<Extract<EgressDecision, { allowed: false }> | undefined> {
    const resolve = options.resolve ?? resolveDns;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<string[]>((settle) => (timer = setTimeout(() => settle([]), options.timeoutMs ?? 1000)));
    const lookup = (name: string, type: "A" | "AAAA") =>
      Promise.race([resolve(name, type, abort.signal).catch(() => [] as string[]), late]);
    const lookups = entries.map(async (entry) => {
      const host = parseEntry(entry);
      if (!host || host.ip !== undefined || this.#allow.some((r) => r.exact && r.test(host))) return undefined;
      const found = await Promise.all((["A", "AAAA"] as const).map((type) => lookup(host.name, type)));
      for (const address of found.flat()) {
        const name = canonicalName(address);
        const ip = name ? parseIp(name) : undefined;
        if (!name || !ip) continue;
        const resolved: Host = { name, port: host.port, ip };
        if (this.#allow.some((r) => r.exact && r.test(resolved))) continue;
        const rule = this.#deny.find((r) => r.test(resolved)) ?? this.#defaults.find((r) => r.test(resolved));
        if (rule) {
          return {
            allowed: false as const,
            entry,
            rule: rule.text,
            source: rule.source,
            reason: `resolves to ${address}, which is denied by "${rule.text}" (${rule.source})`,
          };
        }
      }
      return undefined;
    });
    try {
      return (await Promise.all(lookups)).find((d) => d !== undefined);
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  /**
   * The first denied entry of a list, or undefined when all are allowed.
   *
   * @param entries `host:port` entries.
   * @returns The first denial.
   */
  firstDenied(entries: readonly string[]): Extract<EgressDecision, { allowed: false }> | undefined {
    for (const entry of entries) {
      const decision = this.check(entry);
      if (!decision.allowed) return decision;
    }
    return undefined;
  }
}

/**
 * Reads the policy from the environment and the file it names.
 *
 * @param env `IMBI_EGRESS_ALLOW`, `IMBI_EGRESS_DENY`, `IMBI_EGRESS_FILE`.
 * @param readFile Reads the file (the service passes `Deno.readTextFileSync`).
 * @returns The policy.
 * @throws {SyntaxError} `<variable>: <problem>`, naming the rule or the file's problem.
 */
export function egressPolicyFromEnv(
  env: Record<string, string | undefined>,
  readFile: (path: string) => string = Deno.readTextFileSync,
): EgressPolicy {
  const list = (name: "IMBI_EGRESS_ALLOW" | "IMBI_EGRESS_DENY"): [string, RuleSource][] =>
    (env[name] ?? "").split(",").map((t) => t.trim()).filter(Boolean).map((t) => [t, name]);
  const allow = list("IMBI_EGRESS_ALLOW");
  const deny = list("IMBI_EGRESS_DENY");
  const path = env.IMBI_EGRESS_FILE;
  if (path) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFile(path));
    } catch (error) {
      throw new SyntaxError(`IMBI_EGRESS_FILE: ${path}: ${(error as Error).message}`);
    }
    const file = parsed as { allow?: unknown; deny?: unknown };
    for (const [key, into] of [["allow", allow], ["deny", deny]] as const) {
      const rules = file?.[key] ?? [];
      if (!Array.isArray(rules) || !rules.every((r) => typeof r === "string")) {
        throw new SyntaxError(`IMBI_EGRESS_FILE: ${path}: "${key}" must be a list of strings`);
      }
      into.push(...rules.map((r): [string, RuleSource] => [r.trim(), "IMBI_EGRESS_FILE"]));
    }
  }
  return new EgressPolicy({ allow, deny });
}

function parseRule(text: string, source: RuleSource): Rule {
  const bad = (why: string) => new SyntaxError(`${source}: "${text}" ${why}`);
  const slash = text.indexOf("/");
  const general = "is not a host, host:port, *.domain or CIDR block";
  if (slash >= 0) {
    const ip = parseIp(text.slice(0, slash));
    const bits = Number(text.slice(slash + 1));
    if (!ip || !/^\d{1,3}$/.test(text.slice(slash + 1))) throw bad(general);
    if (bits > ip.length * 8) throw bad(`has a prefix length outside 0-${ip.length * 8}`);
    return { text, source, exact: false, test: (h) => h.ip !== undefined && inCidr(h.ip, ip, bits) };
  }
  if (text.startsWith("*.")) {
    const suffix = canonicalName(text.slice(2));
    if (!suffix || parseIp(suffix)) throw bad("is not a wildcard of a host name");
    return { text, source, exact: false, test: (h) => h.ip === undefined && h.name.endsWith(`.${suffix}`) };
  }
  const withPort = parseEntry(text);
  if (withPort) {
    return { text, source, exact: true, test: (h) => h.name === withPort.name && h.port === withPort.port };
  }
  const name = canonicalName(text.replace(/^\[(.*)\]$/, "$1"));
  if (!name) throw bad(general);
  return { text, source, exact: true, test: (h) => h.name === name };
}

/** `host:port` (IPv6 in brackets) → canonical host and port, or undefined. */
function parseEntry(entry: string): Host | undefined {
  const match = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(entry);
  if (!match) return undefined;
  const name = canonicalName(match[1]!.replace(/^\[(.*)\]$/, "$1"));
  const port = Number(match[2]);
  if (!name || port < 1 || port > 65535) return undefined;
  return { name, port, ip: parseIp(name) };
}

/** A host name or address in canonical form (IPv4-mapped IPv6 as IPv4), or undefined when it is not one. */
function canonicalName(host: string): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(`http://${host.includes(":") ? `[${host}]` : host}/`).hostname;
  } catch {
    return undefined;
  }
  const bare = hostname.replace(/^\[(.*)\]$/, "$1");
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(bare);
  if (mapped) {
    const hi = parseInt(mapped[1]!, 16);
    const lo = parseInt(mapped[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return bare;
}

/** The bytes of a canonical IPv4 or IPv6 address, or undefined for a host name. */
function parseIp(text: string): Uint8Array | undefined {
  const name = canonicalName(text);
  if (!name) return undefined;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return new Uint8Array(name.split(".").map(Number));
  if (!name.includes(":")) return undefined;
  const [head, tail = ""] = name.split("::") as [string, string?];
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = name.includes("::") ? groups(tail) : [];
  const all = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 255;
  });
  return bytes;
}

function inCidr(ip: Uint8Array, network: Uint8Array, bits: number): boolean {
  if (ip.length !== network.length) return false;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((ip[i >> 3]! & mask) !== (network[i >> 3]! & mask)) return false;
  }
  return true;
}
