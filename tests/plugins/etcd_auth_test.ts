/**
 * The etcd plugin against an etcd member with authentication switched on.
 * It starts a member of its own (enabling auth on the shared one would break
 * every other test), so it lives on the host side with the test services.
 */
import assert from "node:assert/strict";
import { inProcess, testContext } from "@imbi/plugin-sdk/testing";
import { EtcdConfiguration } from "../../plugins/etcd/etcd.ts";
import { etcdApi } from "../../plugins/etcd/etcd_api.ts";
import { startEtcd } from "../setup/etcd.ts";

const etcdUrl = Deno.env.get("IMBI_TEST_ETCD_URL");
const etcdBin = Deno.env.get("IMBI_TEST_ETCD_BIN");
const ignore = !etcdUrl && Deno.env.get("IMBI_TEST_SERVICES") !== "required";

Deno.test({
  name: "EtcdConfiguration authenticates with user and password and rejects a wrong password",
  ignore: ignore || !etcdBin,
  async fn() {
    const member = await startEtcd(etcdBin!, await Deno.makeTempDir({ prefix: "imbi-etcd-auth-" }));
    try {
      const gateway = etcdApi(member.url);
      await gateway("/v3/auth/user/add", { name: "root", password: "rootpw" });
      await gateway("/v3/auth/role/add", { name: "root" });
      await gateway("/v3/auth/user/grant", { user: "root", role: "root" });
      await gateway("/v3/auth/enable", {});
      const ctx = testContext("/secure/");
      const good = inProcess(EtcdConfiguration, {
        options: { endpoint: member.url },
        credentials: { username: "root", password: "rootpw" },
      });
      await good.call("setValue", [ctx, "A", { value: "1", data_type: "string" }]);
      assert.deepEqual(await good.call("getValues", [ctx]), [{
        key: "A",
        data_type: "string",
        secret: false,
        last_modified: (await good.call<{ last_modified: string }[]>("listKeys", [ctx]))[0]!.last_modified,
        value: "1",
      }]);
      const wrong = inProcess(EtcdConfiguration, {
        options: { endpoint: member.url },
        credentials: { username: "root", password: "wrong" },
      });
      await assert.rejects(wrong.call("listKeys", [ctx]), (e: { kind: string; message: string }) => {
        assert.equal(e.kind, "credentials_rejected");
        assert.doesNotMatch(e.message, /wrong|rootpw/);
        return true;
      });
      const anonymous = inProcess(EtcdConfiguration, { options: { endpoint: member.url } });
      await assert.rejects(anonymous.call("listKeys", [ctx]), { kind: "credentials_rejected" });
    } finally {
      await member.stop();
    }
  },
});
