import assert from "node:assert/strict";
import { loadConfig } from "../../core/config.ts";
import { EgressPolicy, egressPolicyFromEnv } from "../../core/sandbox/egress.ts";

function denied(policy: EgressPolicy, entry: string): string | undefined {
  const decision = policy.check(entry);
  return decision.allowed ? undefined : `${decision.rule} (${decision.source})`;
}

Deno.test("EgressPolicy denies link-local and instance-metadata addresses by default, in every spelling", () => {
  const policy = new EgressPolicy();
  for (
    const [entry, rule] of [
      ["169.254.169.254:80", "169.254.169.254 (default)"],
      ["0xa9fea9fe:80", "169.254.169.254 (default)"],
      ["0251.0376.0251.0376:80", "169.254.169.254 (default)"],
      ["[::ffff:a9fe:a9fe]:80", "169.254.169.254 (default)"],
      ["[fd00:ec2:0:0:0:0:0:254]:80", "fd00:ec2::254 (default)"],
      ["METADATA.google.internal:80", "metadata.google.internal (default)"],
      ["169.254.0.1:443", "169.254.0.0/16 (default)"],
      ["[febf::1]:443", "fe80::/10 (default)"],
    ]
  ) assert.equal(denied(policy, entry!), rule, entry);
  for (const entry of ["example.com:443", "127.0.0.1:8080", "[::1]:443", "[fec0::1]:443", "169.255.0.1:80"]) {
    assert.equal(denied(policy, entry), undefined, entry);
  }
});

Deno.test("EgressPolicy: operator deny first, then allow (an exact one reopens a default), then the allow list", () => {
  const policy = egressPolicyFromEnv({
    IMBI_EGRESS_ALLOW: "*.amazonaws.com, 127.0.0.1:4566, 169.254.169.254:80, 10.0.0.0/8",
    IMBI_EGRESS_DENY: "10.9.0.0/16, evil.amazonaws.com",
  });
  assert.equal(denied(policy, "ssm.us-east-1.amazonaws.com:443"), undefined);
  assert.equal(denied(policy, "amazonaws.com:443"), "IMBI_EGRESS_ALLOW (IMBI_EGRESS_ALLOW)", "*. is subdomains only");
  assert.equal(denied(policy, "evil.amazonaws.com:443"), "evil.amazonaws.com (IMBI_EGRESS_DENY)");
  assert.equal(denied(policy, "127.0.0.1:4566"), undefined);
  assert.equal(denied(policy, "127.0.0.1:4567"), "IMBI_EGRESS_ALLOW (IMBI_EGRESS_ALLOW)");
  assert.equal(denied(policy, "169.254.169.254:80"), undefined, "reopened by an exact allow");
  assert.equal(denied(policy, "169.254.169.254:443"), "169.254.169.254 (default)", "only the port allowed");
  assert.equal(denied(policy, "10.1.2.3:443"), undefined);
  assert.equal(denied(policy, "10.9.2.3:443"), "10.9.0.0/16 (IMBI_EGRESS_DENY)");
});

Deno.test("egressPolicyFromEnv() adds IMBI_EGRESS_FILE's rules and names the variable of a bad one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "imbi-egress-file-" });
  try {
    await Deno.writeTextFile(`${dir}/egress.json`, JSON.stringify({ allow: ["api.example.com"], deny: ["fd00::/8"] }));
    const policy = egressPolicyFromEnv({ IMBI_EGRESS_FILE: `${dir}/egress.json`, IMBI_EGRESS_ALLOW: "[fd12::1]:443" });
    assert.deepEqual(policy.describe().allow, ["[fd12::1]:443", "api.example.com"]);
    assert.equal(denied(policy, "[fd12::1]:443"), "fd00::/8 (IMBI_EGRESS_FILE)");
    assert.equal(denied(policy, "api.example.com:443"), undefined);
    assert.equal(denied(policy, "other.example.com:443"), "IMBI_EGRESS_ALLOW (IMBI_EGRESS_ALLOW)");

    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ deny: "10.0.0.0/8" }));
    for (
      const [env, variable, message] of [
        [{ IMBI_EGRESS_DENY: "10.0.0.0/33" }, "IMBI_EGRESS_DENY", /"10\.0\.0\.0\/33" has a prefix length outside 0-32/],
        [{ IMBI_EGRESS_ALLOW: "http://x/" }, "IMBI_EGRESS_ALLOW", /is not a host, host:port, \*\.domain or CIDR/],
        [{ IMBI_EGRESS_FILE: `${dir}/bad.json` }, "IMBI_EGRESS_FILE", /"deny" must be a list of strings/],
        [{ IMBI_EGRESS_FILE: `${dir}/missing.json` }, "IMBI_EGRESS_FILE", /missing\.json/],
      ] as const
    ) {
      assert.throws(() => loadConfig(env), (e: Error & { variable?: string }) => {
        assert.equal(e.variable, variable, e.message);
        assert.match(e.message, message);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("EgressPolicy.firstDeniedByAddress() denies a name that resolves to a denied address", async () => {
  const records: Record<string, { A?: string[]; AAAA?: string[] }> = {
    "metadata.attacker.example": { A: ["169.254.169.254"] },
    "v6.attacker.example": { AAAA: ["fd00:ec2::254"] },
    "internal.example": { A: ["10.1.2.3"] },
    "api.example.com": { A: ["93.184.215.14"], AAAA: ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"] },
    "allowed-metadata.example": { A: ["169.254.169.254"] },
  };
  const asked: string[] = [];
  const resolve = (name: string, type: "A" | "AAAA") => {
    asked.push(`${name} ${type}`);
    const found = records[name]?.[type];
    return found ? Promise.resolve(found) : Promise.reject(new Deno.errors.NotFound("no records"));
  };
  const policy = egressPolicyFromEnv({ IMBI_EGRESS_DENY: "10.0.0.0/8", IMBI_EGRESS_ALLOW: "" });
  const first = (entries: string[]) => policy.firstDeniedByAddress(entries, { resolve });

  const metadata = await first(["api.example.com:443", "metadata.attacker.example:80"]);
  assert.equal(metadata?.entry, "metadata.attacker.example:80");
  assert.equal(metadata?.reason, 'resolves to 169.254.169.254, which is denied by "169.254.169.254" (default)');
  assert.equal((await first(["v6.attacker.example:443"]))?.rule, "fd00:ec2::254");
  assert.equal((await first(["internal.example:443"]))?.source, "IMBI_EGRESS_DENY");
  assert.equal(await first(["api.example.com:443", "unknown.example:443", "127.0.0.1:8080"]), undefined);
  assert.ok(!asked.some((q) => q.startsWith("127.0.0.1")), "addresses are not looked up");

  const exact = egressPolicyFromEnv({ IMBI_EGRESS_ALLOW: "allowed-metadata.example" });
  assert.equal(await exact.firstDeniedByAddress(["allowed-metadata.example:80"], { resolve }), undefined);

  const slow = () => new Promise<string[]>(() => {});
  const started = performance.now();
  assert.equal(await policy.firstDeniedByAddress(["hangs.example:443"], { resolve: slow, timeoutMs: 50 }), undefined);
  assert.ok(performance.now() - started < 2000, "a lookup that hangs decides nothing, within the deadline");
});
