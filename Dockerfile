# syntax=docker/dockerfile:1
#
# Production image of the Imbi plugin runtime (README.md, "Production container").
#
#   docker build -t imbi-plugins .
#   docker run -p 8000:8000 -v imbi:/var/lib/imbi imbi-plugins
#
# - Deno is the version pinned in .deno-version, checked against the release's sha256.
# - The service runs `deno task serve` as the unprivileged user `imbi` (uid 10001), on 0.0.0.0:8000.
# - Plugin processes start through imbi-jail (built in its own stage); the service refuses to start without it
#   (IMBI_SANDBOX_LIMITS=required).
# - Every package of the image's plugins.lock.json is fetched, verified, bundled and inspected at build time
#   (`deno task prefetch`), and the service's own dependencies are cached, so the container starts offline.
# - /var/lib/imbi is a volume holding the lockfile, its history, and the data directory (SQLite graph, package
#   cache, audit log, generated admin token and keys): packages installed through the admin API survive restarts
#   and image upgrades. On first start the volume's lockfile is seeded from the image's, and the image's
#   prefetched packages are copied into the volume's cache when missing.
# - With Neo4j (IMBI_GRAPH_URL), the lock state, its history, the audit log and the replicas' heartbeats live in the
#   graph store, so the volume is only a package cache: N replicas may each use an emptyDir (docs/replicas.md).
#
# Build arguments: NPM_CONFIG_REGISTRY (or IMBI_NPM_REGISTRY) and JSR_URL, when plugin packages come from a private
# registry (set the same at run time); IMBI_SERVICE_NPM_REGISTRY when the service's own npm dependencies must come from
# a mirror (kept in the image, since Deno keys its npm cache by registry URL). bin/deno gives Deno the service's
# registry whatever NPM_CONFIG_REGISTRY says, so a plugin-only registry never stops the service.

ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS deno
ARG TARGETARCH
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl unzip \
  && rm -rf /var/lib/apt/lists/*
COPY .deno-version /tmp/deno-version
RUN set -eu; \
  version="$(tr -d '[:space:]' < /tmp/deno-version)"; \
  case "${TARGETARCH:-amd64}" in \
    amd64) target=x86_64-unknown-linux-gnu ;; \
    arm64) target=aarch64-unknown-linux-gnu ;; \
    *) echo "no Deno release for architecture ${TARGETARCH}" >&2; exit 1 ;; \
  esac; \
  base="https://github.com/denoland/deno/releases/download/v${version}"; \
  curl -fsSL --retry 3 -o /tmp/deno.zip "${base}/deno-${target}.zip"; \
  curl -fsSL --retry 3 -o /tmp/deno.zip.sha256sum "${base}/deno-${target}.zip.sha256sum"; \
  expected="$(grep -oiE '[0-9a-f]{64}' /tmp/deno.zip.sha256sum | head -n 1)"; \
  test -n "${expected}"; \
  echo "${expected}  /tmp/deno.zip" | sha256sum -c -; \
  unzip -q /tmp/deno.zip -d /usr/local/bin; \
  chmod 0755 /usr/local/bin/deno; \
  /usr/local/bin/deno --version | grep -q "^deno ${version} "

# imbi-jail, the wrapper that confines every plugin process (docs/sandbox.md, "Confinement"), built with the C
# toolchain of this stage only. The service runs as a non-root user, so the jail caps memory with RLIMIT_DATA
# (no cgroup is writable) and still installs its seccomp filter and PDEATHSIG.
FROM ${BASE_IMAGE} AS jail
RUN apt-get update \
  && apt-get install -y --no-install-recommends gcc libc6-dev \
  && rm -rf /var/lib/apt/lists/*
COPY core/sandbox/jail/imbi-jail.c /tmp/imbi-jail.c
RUN cc -O2 -Wall -Wextra -Werror -o /tmp/imbi-jail /tmp/imbi-jail.c

FROM ${BASE_IMAGE}
ARG NPM_CONFIG_REGISTRY
ARG IMBI_NPM_REGISTRY
ARG JSR_URL
ARG IMBI_SERVICE_NPM_REGISTRY
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates tini \
  && rm -rf /var/lib/apt/lists/*
COPY --from=deno /usr/local/bin/deno /usr/local/bin/deno
COPY --from=jail /tmp/imbi-jail /usr/local/libexec/imbi-jail
RUN groupadd --system --gid 10001 imbi \
  && useradd --system --uid 10001 --gid imbi --home-dir /var/lib/imbi --no-create-home --shell /usr/sbin/nologin imbi \
  && install -d -o imbi -g imbi -m 0750 /var/lib/imbi /opt/imbi /opt/imbi/seed /opt/imbi/deno

ENV DENO_DIR=/opt/imbi/deno \
  IMBI_SERVICE_NPM_REGISTRY=${IMBI_SERVICE_NPM_REGISTRY} \
  DENO_NO_UPDATE_CHECK=1 \
  NO_COLOR=1 \
  HOME=/var/lib/imbi \
  IMBI_HOST=0.0.0.0 \
  IMBI_PORT=8000 \
  IMBI_DATA_DIR=/var/lib/imbi/data \
  IMBI_LOCKFILE=/var/lib/imbi/plugins.lock.json \
  IMBI_JAIL_PATH=/usr/local/libexec/imbi-jail \
  IMBI_SANDBOX_LIMITS=required

# The code, owned by root and read-only for the service. plugins.lock.jso[n] copies the lockfile when the
# repository has one (an image without one starts with no packages).
WORKDIR /app
COPY deno.json deno.lock .deno-version main.ts plugins.lock.jso[n] ./
COPY bin/ bin/
COPY core/ core/
COPY routes/ routes/
COPY cli/ cli/
COPY plugins/ plugins/

USER imbi
# The service's own dependencies, exactly as deno.lock pins them; then every locked package fetched, verified,
# bundled and inspected into the seed data directory. The build fails if any package or entry point would not
# load. (An unset build argument may arrive as an empty variable, which Deno would read as a registry URL.)
RUN set -eu; \
  [ -n "${NPM_CONFIG_REGISTRY:-}" ] || unset NPM_CONFIG_REGISTRY; \
  [ -n "${IMBI_NPM_REGISTRY:-}" ] || unset IMBI_NPM_REGISTRY; \
  [ -n "${JSR_URL:-}" ] || unset JSR_URL; \
  ./bin/deno install --frozen --entrypoint main.ts cli/prefetch.ts cli/plugins.ts; \
  IMBI_DATA_DIR=/opt/imbi/seed IMBI_LOCKFILE=/app/plugins.lock.json ./bin/deno task prefetch

VOLUME ["/var/lib/imbi"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('IMBI_PORT')}/healthz`); Deno.exit(r.ok ? 0 : 1)"]
# tini is PID 1: it reaps orphaned processes and, with -g, passes SIGTERM/SIGINT to its child's whole process group.
# That group is the shell, `deno task` and the service (and the prefetch while it runs), so each of them hears the
# stop whichever one is running. Plugin processes are not in it: the service starts each in a process group of its
# own (core/sandbox/process.ts), so the signal does not kill them under the calls in flight. The service stops
# accepting, lets requests in flight finish within IMBI_SHUTDOWN_GRACE_MS (default 10 s), then stops its plugin
# processes itself and exits (main.ts; tests/shutdown_test.ts signals a whole group the same way). Give the container
# more time than that grace before SIGKILL: `docker run --stop-timeout 15`, or Kubernetes'
# terminationGracePeriodSeconds (30 s by default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["sh", "-c", "./bin/deno task prefetch --seed-from /opt/imbi/seed --seed-lockfile /app/plugins.lock.json --seed-only && exec ./bin/deno task serve"]
