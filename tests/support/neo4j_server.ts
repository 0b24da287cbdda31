/**
 * A real Neo4j 5.26 LTS Community server for the tests, fetched from Maven
 * Central with Maven and started with `java` on free loopback ports.
 *
 * Routes, tried in order (the first that Maven can resolve wins and is
 * recorded in `<cacheDir>/neo4j-<version>/install.json`):
 *
 * 1. `org.neo4j.assembly:neo4j-community-standalone:<version>:tar.gz:unix`,
 *    the packaged distribution. Its pom is on Central but the tarball is not
 *    attached (the assembly plugin runs with `attach=false`), so on Central
 *    this route fails.
 * 2. The server jars: `org.neo4j:neo4j:<version>` (Community; it holds the
 *    main class `org.neo4j.server.CommunityEntryPoint`) with
 *    `org.neo4j.app:neo4j-server:<version>` and their runtime dependencies,
 *    copied into `lib/` by `dependency:copy-dependencies`.
 *
 * Both give a `lib/` directory; the server runs as
 * `java -cp lib/* org.neo4j.server.CommunityEntryPoint` with a small heap and
 * page cache, and the initial password is set with `org.neo4j.cli.AdminTool
 * dbms set-initial-password` before the first start. A watchdog shell stops
 * the JVM if the process that started it goes away without stopping it.
 *
 * Used by `tests/setup/neo4j.ts` (one shared server per test run) and by
 * `tests/neo4j_faults_test.ts` (its own server, stopped and restarted).
 *
 * @module
 */

import { freePort, pathExists } from "./local.ts";

/** The Neo4j version the tests run. */
export const NEO4J_VERSION = "5.26.30";

const MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1";
const MAIN_CLASS = "org.neo4j.server.CommunityEntryPoint";
const ADMIN_CLASS = "org.neo4j.cli.AdminTool";
const JVM_FLAGS = [
  "-XX:+UseSerialGC",
  "-XX:-OmitStackTraceInFastThrow",
  "-Djdk.nio.maxCachedBufferSize=1024",
  "-Dio.netty.tryReflectionSetAccessible=true",
  "-Dlog4j2.disable.jmx=true",
  "--add-opens=java.base/java.nio=ALL-UNNAMED",
  "--add-opens=java.base/java.io=ALL-UNNAMED",
  "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
];

/** A Neo4j installation in the cache. */
export interface Neo4jInstall {
  version: string;
  /** Directory holding every jar the server needs. */
  libDir: string;
  /** Which Maven route produced it: `"standalone-tarball"` or `"server-jars"`. */
  route: string;
  /** The Maven coordinates that route fetched. */
  coordinates: string[];
}

/** Options of {@linkcode installNeo4j}. */
export interface InstallOptions {
  /** Lines for a person watching. */
  progress?: (line: string) => void;
  version?: string;
}

/** Options of {@linkcode Neo4jServer.launch}. */
export interface LaunchOptions {
  /** Lines for a person watching. */
  progress?: (line: string) => void;
  /** Password of the `neo4j` user (at least 8 characters). */
  password?: string;
  /** JVM maximum heap, e.g. `"512m"`. */
  heap?: string;
  /** Neo4j page cache size, e.g. `"64m"`. */
  pagecache?: string;
  /** How long to wait for the server to answer, in milliseconds. */
  readyTimeoutMs?: number;
}

async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { ok: out.success, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

function serverPom(version: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>imbi.test</groupId>
  <artifactId>neo4j-server-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.neo4j.app</groupId><artifactId>neo4j-server</artifactId><version>${version}</version></dependency>
  </dependencies>
</project>
`;
}

async function tryTarball(version: string, dir: string): Promise<Neo4jInstall | null> {
  const coordinate = `org.neo4j.assembly:neo4j-community-standalone:${version}:tar.gz:unix`;
  const download = `${dir}/download`;
  const fetched = await run("mvn", [
    "-B",
    "-q",
    `${MAVEN_DEPENDENCY_PLUGIN}:copy`,
    `-Dartifact=${coordinate}`,
    `-DoutputDirectory=${download}`,
  ], { cwd: dir });
  if (!fetched.ok) return null;
  const tarball = `${download}/neo4j-community-standalone-${version}-unix.tar.gz`;
  const unpacked = await run("tar", ["-xzf", tarball, "-C", dir]);
  if (!unpacked.ok) throw new Error(`Cannot unpack ${tarball}: ${unpacked.output.slice(-1000)}`);
  await Deno.remove(download, { recursive: true });
  const home = `${dir}/neo4j-community-${version}`;
  await Deno.rename(`${home}/lib`, `${dir}/lib`);
  await Deno.remove(home, { recursive: true });
  return { version, libDir: `${dir}/lib`, route: "standalone-tarball", coordinates: [coordinate] };
}

async function tryServerJars(version: string, dir: string): Promise<Neo4jInstall> {
  await Deno.writeTextFile(`${dir}/pom.xml`, serverPom(version));
  const copied = await run("mvn", [
    "-B",
    "-q",
    `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`,
    "-DincludeScope=runtime",
    `-DoutputDirectory=${dir}/lib`,
  ], { cwd: dir });
  if (!copied.ok) {
    throw new Error(`Maven could not fetch the Neo4j ${version} server jars: ${copied.output.slice(-2000)}`);
  }
  return {
    version,
    libDir: `${dir}/lib`,
    route: "server-jars",
    coordinates: [`org.neo4j:neo4j:${version}`, `org.neo4j.app:neo4j-server:${version}`],
  };
}

/**
 * Fetches Neo4j Community into `cacheDir` with Maven, once; later calls read
 * the cached install. Safe against concurrent runs: each installs into a
 * private directory and renames it into place.
 *
 * @param cacheDir The test-service cache directory.
 * @param options Progress sink and version.
 * @returns Where the jars are and which route fetched them.
 * @throws {Error} When neither route works (no Maven, no network, no artifact).
 */
export async function installNeo4j(cacheDir: string, options: InstallOptions = {}): Promise<Neo4jInstall> {
  const version = options.version ?? NEO4J_VERSION;
  const progress = options.progress ?? (() => {});
  const target = `${cacheDir}/neo4j-${version}`;
  const marker = `${target}/install.json`;
  if (await pathExists(marker)) {
    const install = JSON.parse(await Deno.readTextFile(marker)) as Neo4jInstall;
    return { ...install, libDir: `${target}/lib` };
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  const work = await Deno.makeTempDir({ dir: cacheDir, prefix: `neo4j-${version}.partial-` });
  try {
    progress(`fetching Neo4j ${version} from Maven Central (first run only)`);
    let install = await tryTarball(version, work);
    if (install) {
      progress(`route 1 worked: ${install.coordinates.join(", ")}`);
    } else {
      progress("route 1 (neo4j-community-standalone tar.gz) is not on Maven Central; using the server jars");
      install = await tryServerJars(version, work);
      progress(`route 2 worked: ${install.coordinates.join(", ")}`);
    }
    const recorded = { ...install, libDir: `${target}/lib` };
    await Deno.writeTextFile(`${work}/install.json`, JSON.stringify(recorded, null, 2) + "\n");
    try {
      await Deno.rename(work, target);
    } catch (error) {
      if (!await pathExists(marker)) throw error;
      await Deno.remove(work, { recursive: true });
    }
    return { ...install, libDir: `${target}/lib` };
  } catch (error) {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    throw error;
  }
}

function config(dir: string, ports: { bolt: number; http: number }, options: { pagecache: string }): string {
  return [
    "server.default_listen_address=127.0.0.1",
    "server.default_advertised_address=127.0.0.1",
    `server.bolt.listen_address=127.0.0.1:${ports.bolt}`,
    `server.bolt.advertised_address=127.0.0.1:${ports.bolt}`,
    `server.http.listen_address=127.0.0.1:${ports.http}`,
    `server.http.advertised_address=127.0.0.1:${ports.http}`,
    "server.https.enabled=false",
    `server.memory.pagecache.size=${options.pagecache}`,
    "dbms.memory.transaction.total.max=256m",
    `server.directories.data=${dir}/data`,
    `server.directories.logs=${dir}/logs`,
    `server.directories.run=${dir}/run`,
    `server.directories.plugins=${dir}/plugins`,
    `server.directories.import=${dir}/import`,
    `server.directories.dumps.root=${dir}/data/dumps`,
    "server.threads.worker_count=8",
    "dbms.usage_report.enabled=false",
    "",
  ].join("\n");
}

async function tail(path: string, chars: number): Promise<string> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.slice(-chars);
}

/**
 * One Neo4j server process on loopback, with its own data directory. Stop
 * and start it again to simulate an outage: it comes back on the same ports
 * with the same data.
 */
export class Neo4jServer {
  #install: Neo4jInstall;
  #dir: string;
  #bolt: number;
  #http: number;
  #password: string;
  #heap: string;
  #readyTimeoutMs: number;
  #progress: (line: string) => void;
  #java: Deno.ChildProcess | null = null;
  #watchdog: Deno.ChildProcess | null = null;

  private constructor(install: Neo4jInstall, dir: string, options: Required<LaunchOptions>) {
    this.#install = install;
    this.#dir = dir;
    this.#bolt = freePort();
    this.#http = freePort();
    this.#password = options.password;
    this.#heap = options.heap;
    this.#readyTimeoutMs = options.readyTimeoutMs;
    this.#progress = options.progress;
  }

  /**
   * Creates a data directory, sets the password, and starts the server.
   *
   * @param install From {@linkcode installNeo4j}.
   * @param options Password, memory, timeout, progress sink.
   * @returns The running server.
   * @throws {Error} When it does not answer in time (with its log tail).
   */
  static async launch(install: Neo4jInstall, options: LaunchOptions = {}): Promise<Neo4jServer> {
    const settings: Required<LaunchOptions> = {
      progress: options.progress ?? (() => {}),
      password: options.password ?? `imbi-${crypto.randomUUID()}`,
      heap: options.heap ?? "512m",
      pagecache: options.pagecache ?? "64m",
      readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
    };
    const dir = await Deno.makeTempDir({ prefix: "imbi-neo4j-" });
    const server = new Neo4jServer(install, dir, settings);
    try {
      for (const sub of ["conf", "data", "logs", "run", "plugins", "import"]) {
        await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
      }
      await Deno.writeTextFile(
        `${dir}/conf/neo4j.conf`,
        config(dir, { bolt: server.#bolt, http: server.#http }, settings),
      );
      const admin = await run("java", [
        "-Xmx128m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        `${install.libDir}/*`,
        ADMIN_CLASS,
        "dbms",
        "set-initial-password",
        settings.password,
      ], { cwd: dir, env: server.#env() });
      if (!admin.ok) throw new Error(`neo4j-admin set-initial-password failed: ${admin.output.slice(-1000)}`);
      await server.start();
      return server;
    } catch (error) {
      await server.dispose();
      throw error;
    }
  }

  /** `bolt://127.0.0.1:<port>`. */
  get url(): string {
    return `bolt://127.0.0.1:${this.#bolt}`;
  }

  /** `http://127.0.0.1:<port>`. */
  get httpUrl(): string {
    return `http://127.0.0.1:${this.#http}`;
  }

  /** Always `neo4j`. */
  get user(): string {
    return "neo4j";
  }

  /** The `neo4j` user's password. */
  get password(): string {
    return this.#password;
  }

  /** Whether the JVM is running. */
  get running(): boolean {
    return this.#java !== null;
  }

  #env(): Record<string, string> {
    return { NEO4J_HOME: this.#dir, NEO4J_CONF: `${this.#dir}/conf` };
  }

  /**
   * Starts the JVM (again) and waits until a query over HTTP answers.
   *
   * @throws {Error} When it exits or does not answer within the timeout.
   */
  async start(): Promise<void> {
    if (this.#java) return;
    const started = performance.now();
    const java = [
      "java",
      `-Xms${this.#heap}`,
      `-Xmx${this.#heap}`,
      ...JVM_FLAGS,
      "-cp",
      `${this.#install.libDir}/*`,
      MAIN_CLASS,
      `--home-dir=${this.#dir}`,
      `--config-dir=${this.#dir}/conf`,
    ];
    // `exec` keeps the shell's pid as the JVM's, so killing the child kills Neo4j.
    this.#java = new Deno.Command("sh", {
      args: ["-c", 'exec "$@" >>"$NEO4J_HOME/console.log" 2>&1', "sh", ...java],
      cwd: this.#dir,
      env: this.#env(),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const javaPid = this.#java.pid;
    this.#watchdog = new Deno.Command("sh", {
      args: [
        "-c",
        'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 2; done; ' +
        'kill -TERM "$2" 2>/dev/null; sleep 15; kill -KILL "$2" 2>/dev/null',
        "watchdog",
        String(Deno.pid),
        String(javaPid),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await this.#waitReady();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.#progress(
      `Neo4j ${this.#install.version} answered on ${this.url} in ${Math.round(performance.now() - started)} ms`,
    );
  }

  async #waitReady(): Promise<void> {
    const java = this.#java!;
    let exited: Deno.CommandStatus | null = null;
    java.status.then((s) => exited = s);
    const deadline = Date.now() + this.#readyTimeoutMs;
    const auth = `Basic ${btoa(`${this.user}:${this.#password}`)}`;
    while (Date.now() < deadline) {
      if (exited) {
        throw new Error(
          `Neo4j exited with code ${(exited as Deno.CommandStatus).code} before it was ready:\n` +
            (await tail(`${this.#dir}/console.log`, 2000)),
        );
      }
      try {
        const res = await fetch(`${this.httpUrl}/db/neo4j/tx/commit`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: auth },
          body: JSON.stringify({ statements: [{ statement: "RETURN 1" }] }),
          signal: AbortSignal.timeout(2000),
        });
        const body = await res.json().catch(() => null) as { errors?: unknown[] } | null;
        if (res.ok && body && Array.isArray(body.errors) && body.errors.length === 0) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `Neo4j did not answer on ${this.httpUrl} within ${this.#readyTimeoutMs} ms:\n` +
        (await tail(`${this.#dir}/logs/neo4j.log`, 2000)),
    );
  }

  /**
   * Stops the JVM and its watchdog; the data directory stays for a later
   * {@linkcode start}. A graceful stop (TERM, KILL after 20 s) takes about
   * 10 s because Bolt's event loops wait out a quiet period; `kill: true`
   * is a crash (KILL at once), recovered from the log at the next start.
   *
   * @param options `kill`: stop with SIGKILL.
   */
  async stop(options: { kill?: boolean } = {}): Promise<void> {
    const java = this.#java;
    const watchdog = this.#watchdog;
    this.#java = null;
    this.#watchdog = null;
    if (watchdog) {
      try {
        watchdog.kill("SIGKILL");
      } catch {
        // already gone
      }
      await watchdog.status;
    }
    if (!java) return;
    try {
      java.kill(options.kill ? "SIGKILL" : "SIGTERM");
    } catch {
      // already gone
    }
    const killer = setTimeout(() => {
      try {
        java.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 20_000);
    await java.status;
    clearTimeout(killer);
  }

  /** Kills the server and deletes its data directory. */
  async dispose(): Promise<void> {
    await this.stop({ kill: true });
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}
