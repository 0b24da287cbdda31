/**
 * Test service: a real Neo4j 5.26 LTS Community server on loopback, fetched
 * from Maven Central with Maven and cached (see `tests/support/neo4j_server.ts`
 * for the routes). One server per test run, with a fresh data directory, a
 * 512 MiB heap and a 64 MiB page cache; tests share it and stay apart through
 * unique organization slugs.
 *
 * Exports `IMBI_TEST_NEO4J_URL` (`bolt://127.0.0.1:<port>`),
 * `IMBI_TEST_NEO4J_USER`, `IMBI_TEST_NEO4J_PASSWORD`, and
 * `IMBI_TEST_NEO4J_LIB` (the cached jars, so a test can start its own
 * server to stop and restart).
 *
 * @module
 */

import type { RunningService, TestService } from "./service.ts";
import { installNeo4j, Neo4jServer } from "../support/neo4j_server.ts";

/** Neo4j Community on a free loopback port. */
export const service: TestService = {
  name: "neo4j",
  async install(cacheDir, progress) {
    const install = await installNeo4j(cacheDir, { progress });
    progress(`Neo4j ${install.version} from ${install.coordinates.join(" + ")} (${install.route})`);
  },
  async start(cacheDir, progress): Promise<RunningService> {
    const install = await installNeo4j(cacheDir, { progress });
    const server = await Neo4jServer.launch(install, { progress });
    return {
      env: {
        IMBI_TEST_NEO4J_URL: server.url,
        IMBI_TEST_NEO4J_USER: server.user,
        IMBI_TEST_NEO4J_PASSWORD: server.password,
        IMBI_TEST_NEO4J_LIB: install.libDir,
      },
      stop: () => server.dispose(),
    };
  },
};
