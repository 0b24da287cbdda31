/**
 * The Plugins pages: every package and entry point with status and reason;
 * install from the catalog or by specifier after a preview and an explicit
 * confirmation; upgrade with the diff; remove (an in-use refusal lists the
 * Plugin nodes); history with rollback; reload. Long operations post with
 * htmx and show the progress bar while the API works.
 *
 * @module
 */

import { Hono } from "hono";
import { type ApiAnswer, must, problemOf, seg } from "./_api.ts";
import { ActionForm, InputField } from "./_forms.tsx";
import { Csrf, Notice, ProblemBox, Section, Status, type Ui, type UiEnv } from "./_layout.tsx";
import { renderPage, renderPart } from "./_render.tsx";
import { type Column, Table } from "./_table.tsx";

const PAGE = { title: "Plugins", section: "Plugins" };

// deno-lint-ignore no-explicit-any
type Json = any;

/** htmx attributes of a form whose answer replaces `#op-result`, with the progress bar while it runs. */
const LONG = { "hx-target": "#op-result", "hx-indicator": "#progress", "hx-disabled-elt": "find button" };

function manifestFacts(entry: Json) {
  const m = entry.manifest ?? entry;
  return {
    slug: entry.slug ?? m.slug,
    type: entry.plugin_type ?? m.plugin_type ?? null,
    api: entry.api_version ?? m.api_version ?? null,
    hosts: (m.network?.hosts ?? entry.hosts ?? []) as string[],
    credentials: (m.credentials ?? entry.credentials ?? []) as Json[],
  };
}

/** The entry points of a package: type, `api_version`, hosts, credential fields, status. */
function EntryTable(props: { entries: Json[] }) {
  return (
    <Table
      rows={props.entries.map((e) => ({ e, f: manifestFacts(e) }))}
      rowClass={({ e }) => e.status && e.status !== "loaded" ? "bad" : undefined}
      columns={[
        { header: "Entry point", cell: ({ e, f }) => <code>{f.slug ?? `#${e.index}`}</code> },
        { header: "Type", cell: ({ f }) => f.type ?? "—" },
        { header: "api_version", cell: ({ f }) => f.api ?? "—" },
        {
          header: "Network hosts",
          cell: ({ f }) =>
            f.hosts.length
              ? f.hosts.map((h, n) => (
                <>
                  {n > 0 && ", "}
                  <code>{h}</code>
                </>
              ))
              : "none",
        },
        {
          header: "Credential fields",
          cell: ({ f }) =>
            f.credentials.length
              ? f.credentials.map((c) => (
                <span>
                  <code>{c.name ?? String(c)}</code>
                  {c.secret === false ? "" : " (secret)"}
                  {" "}
                </span>
              ))
              : "none",
        },
        {
          header: "Status",
          cell: ({ e }) => (
            <>
              {e.status ? <Status status={e.status} /> : "—"}
              {e.reason && <p class="reason">{e.reason}</p>}
            </>
          ),
        },
      ]}
    />
  );
}

function Packages(props: { ui: Ui; registry: Json }) {
  const { ui } = props;
  return (
    <Section id="packages" title="Installed packages">
      <p class="help">
        Lockfile revision {props.registry.revision}, registry generation {props.registry.generation}, built{" "}
        {props.registry.built_at}.
      </p>
      {props.registry.items.map((p: Json) => (
        <div class="card">
          <h3>
            <code>{p.name}</code> {p.version ?? "(no version)"} <Status status={p.status} />
          </h3>
          {p.reason && <p class="reason">{p.reason}</p>}
          <p class="help">
            Specifier <code>{p.specifier}</code>
          </p>
          <EntryTable entries={p.entries} />
          {ui.admin && (
            <div class="row">
              <form method="get" action="/ui/plugins/upgrade" class="row">
                <input type="hidden" name="package" value={p.name} />
                <InputField
                  id={`up-${p.name}`}
                  name="version"
                  label={`New version or range for ${p.name}`}
                  required
                  placeholder="^2.0.0"
                />
                <button type="submit" class="secondary">Upgrade…</button>
              </form>
              <ActionForm
                ui={ui}
                action="/ui/plugins/remove"
                hx={LONG}
                fields={{ package: p.name }}
                button="Remove"
                buttonClass="danger"
                buttonLabel={`Remove ${p.name}`}
              />
            </div>
          )}
        </div>
      ))}
    </Section>
  );
}

function Catalog(props: { ui: Ui; items: Json[] }) {
  return (
    <Section id="catalog" title="Catalog">
      <Table
        rows={props.items}
        columns={[
          { header: "Name", cell: (e) => <code>{e.name}</code> },
          { header: "Description", cell: (e) => e.description },
          { header: "Installed", cell: (e) => e.installed ? e.installed.version : "no" },
          {
            header: "Newest in range",
            cell: (e) => (
              <>
                {e.latest_in_range ?? <span class="help">{e.resolve_error ?? "unknown"}</span>}
                {e.newer_in_range && <strong>(newer: {e.newer_in_range})</strong>}
              </>
            ),
          },
          props.ui.admin && {
            header: "Action",
            cell: (e) =>
              !e.installed && (
                <a href={`/ui/plugins/preview?catalog=${encodeURIComponent(e.name)}`}>
                  Install {e.name}…
                </a>
              ),
          },
        ]}
      />
      {props.ui.admin && (
        <form method="get" action="/ui/plugins/preview" class="row card">
          <InputField
            id="specifier"
            name="specifier"
            label="Package specifier"
            required
            placeholder="npm:@acme/plugin@^1"
            help="npm:<name>@<range> or jsr:@<scope>/<name>@<range>"
          />
          <button type="submit">Preview</button>
        </form>
      )}
    </Section>
  );
}

/** The columns of the lockfile history, with rollback for an admin. */
function historyColumns(ui: Ui): (Column<Json> | false)[] {
  return [
    { header: "Revision", cell: (r) => `${r.revision}${r.current ? " (current)" : ""}` },
    { header: "Change", cell: (r) => r.summary },
    { header: "By", cell: (r) => r.written_by ?? "—" },
    { header: "When", cell: (r) => r.written_at ?? "—" },
    { header: "Packages", cell: (r) => (r.packages ?? []).map((p: Json) => `${p.name} ${p.version}`).join(", ") },
    ui.admin && {
      header: "Action",
      cell: (r) =>
        !r.current && (
          <ActionForm
            ui={ui}
            action="/ui/plugins/rollback"
            hx={LONG}
            fields={{ revision: String(r.revision) }}
            button={`Roll back to ${r.revision}`}
            buttonClass="secondary"
          />
        ),
    },
  ];
}

function Diff(props: { diff: Json }) {
  const d = props.diff;
  if (!d) return null;
  return (
    <div class="card">
      <h3>
        Changes from {d.from?.version} to {d.to?.version}
      </h3>
      {d.previous_unavailable && <p class="help">{d.previous_unavailable}</p>}
      <ul>
        {(d.summary ?? []).length === 0 ? <li>No manifest changes.</li> : d.summary.map((s: string) => <li>{s}</li>)}
      </ul>
    </div>
  );
}

/** What a change answered: the package's entry points, the diff, disabled nodes, or the refusal. */
function ChangeResult(props: { ui: Ui; title: string; answer: ApiAnswer; retry?: { package: string } }) {
  const { answer } = props;
  if (!answer.ok) {
    const problem = problemOf(answer);
    const nodes = (problem.plugin_nodes ?? []) as Json[];
    return (
      <div>
        <ProblemBox problem={problem} />
        {nodes.length > 0 && (
          <div class="card">
            <h3>Plugin nodes using it</h3>
            <ul>
              {nodes.map((n) => (
                <li>
                  <a href={`/ui/orgs/${seg(n.org)}/services/${seg(n.service)}/plugins/${seg(n.slug)}`}>
                    {n.org}/{n.service}/{n.slug}
                  </a>{" "}
                  ({n.plugin})
                </li>
              ))}
            </ul>
            {props.retry && (
              <ActionForm
                ui={props.ui}
                action="/ui/plugins/remove"
                hx={LONG}
                fields={{ package: props.retry.package, force: "true" }}
                button="Remove anyway and disable these nodes"
                buttonClass="danger"
              />
            )}
          </div>
        )}
      </div>
    );
  }
  const b = answer.body;
  return (
    <div>
      <Notice text={`${props.title}: done (lockfile revision ${b.revision ?? "—"}).`} />
      {b.package?.entries && (
        <>
          <h3>
            <code>{b.package.name}</code> {b.package.version} <Status status={b.package.status} />
          </h3>
          <EntryTable entries={b.package.entries} />
        </>
      )}
      <Diff diff={b.diff} />
      {b.disabled_plugin_nodes?.length > 0 && (
        <p>Disabled: {b.disabled_plugin_nodes.map((n: Json) => `${n.org}/${n.service}/${n.slug}`).join(", ")}</p>
      )}
      {b.changes && <ul>{b.changes.map((ch: Json) => <li>{ch.summary ?? JSON.stringify(ch)}</li>)}</ul>}
      {b.items && <p>The registry now holds {b.items.length} package(s), generation {b.generation}.</p>}
      <p>
        <a href="/ui/plugins">Back to the plugins</a>
      </p>
    </div>
  );
}

/**
 * A change's answer with its package's entry points as the registry now
 * holds them (manifests included: hosts and credential fields).
 */
async function withManifests(ui: Ui, answer: ApiAnswer): Promise<ApiAnswer> {
  const name = answer.ok ? answer.body?.package?.name : undefined;
  if (!name) return answer;
  const registry = await ui.api("GET", "/admin/plugins");
  const loaded = registry.ok ? registry.body.items.find((p: Json) => p.name === name) : undefined;
  return loaded
    ? { ...answer, body: { ...answer.body, package: { ...answer.body.package, entries: loaded.entries } } }
    : answer;
}

/**
 * The API's answer to a change sent without `accept_permissions`: the
 * permission preview and the confirmation form, or the refusal in place
 * (nothing was written either way).
 */
function Preview(
  props: {
    ui: Ui;
    answer: ApiAnswer;
    title: string;
    action: string;
    fields: Record<string, string>;
    current?: Json[];
  },
) {
  const { answer } = props;
  const preview = answer.body?.permissions;
  if (answer.ok) return <ChangeResult ui={props.ui} title={props.title} answer={answer} />;
  if (!preview) return <ProblemBox problem={problemOf(answer)} />;
  const entries = (preview.entries as Json[]).map((e) => ({
    slug: e.slug,
    plugin_type: e.plugin_type,
    api_version: e.api_version,
    hosts: (e.network_hosts as Json[]).map((h) =>
      `${h.declared}${h.resolved && h.resolved !== h.declared ? ` → ${h.resolved}` : ""} (${h.egress})`
    ),
    credentials: e.credentials,
  }));
  return (
    <Section id="permissions" title={<>What {preview.package} {preview.version} will be allowed</>}>
      <EntryTable entries={entries} />
      {props.current && <BeforeAfter before={props.current} after={entries} />}
      {preview.added && (preview.added.network_hosts.length > 0 || preview.added.credentials.length > 0) && (
        <p>
          New in this version: {[...preview.added.network_hosts, ...preview.added.credentials].join(", ")}
        </p>
      )}
      <div id="op-result" aria-live="polite">
        <Confirm ui={props.ui} action={props.action} fields={props.fields} label={props.title.split(" ")[0]!} />
      </div>
    </Section>
  );
}

/** What changes between the installed entry points and the ones a new version brings, before it is accepted. */
function BeforeAfter(props: { before: Json[]; after: Json[] }) {
  const facts = (e: Json) => {
    const f = manifestFacts(e);
    return {
      type: f.type ?? "—",
      api: f.api ?? "—",
      hosts: f.hosts.map((h) => h.split(" ")[0]).join(", ") || "none",
      credentials: f.credentials.map((c) => c.name ?? String(c)).join(", ") || "none",
    };
  };
  const before = new Map(props.before.map((e) => [manifestFacts(e).slug, facts(e)]));
  const after = new Map(props.after.map((e) => [e.slug, facts(e)]));
  const lines: string[] = [];
  for (const slug of before.keys()) if (!after.has(slug)) lines.push(`entry point removed: ${slug}`);
  for (const [slug, a] of after) {
    const b = before.get(slug);
    if (!b) {
      lines.push(`entry point added: ${slug} (${a.type}, api_version ${a.api})`);
      continue;
    }
    for (const key of ["type", "api", "hosts", "credentials"] as const) {
      const label =
        { type: "plugin_type", api: "api_version", hosts: "network hosts", credentials: "credential fields" }[key];
      if (a[key] !== b[key]) lines.push(`${slug}: ${label} ${b[key]} → ${a[key]}`);
    }
  }
  return (
    <div class="card">
      <h3>Changes from the installed version</h3>
      <ul>{lines.length ? lines.map((l) => <li>{l}</li>) : <li>No entry point changes.</li>}</ul>
    </div>
  );
}

/** The confirmation form of an install or upgrade. */
function Confirm(props: { ui: Ui; action: string; fields: Record<string, string>; label: string }) {
  return (
    <form method="post" action={props.action} hx-post={props.action} {...LONG} class="card">
      <Csrf ui={props.ui} />
      {Object.entries(props.fields).map(([k, v]) => <input type="hidden" name={k} value={v} />)}
      <div class="field check">
        <input id="accept" name="accept" type="checkbox" value="true" required />
        <label for="accept">
          I accept the entry points, network hosts and credential fields this package brings
        </label>
      </div>
      <button type="submit">{props.label}</button>
    </form>
  );
}

/** The plugin pages, mounted under `/ui`. */
export function pluginPages(): Hono<UiEnv> {
  return new Hono<UiEnv>()
    .get("/plugins", (c) =>
      renderPage(c, PAGE, async (ui) => {
        if (!ui.admin) {
          return (
            <p>
              The plugin registry, the catalog and the history are admin resources (<code>/admin</code>); this session
              signed in with a read-only token. Each Plugin node's status is on its service's page under{" "}
              <a href="/ui/services">Services</a>.
            </p>
          );
        }
        const [registry, history] = await Promise.all([
          must(ui.api("GET", "/admin/plugins")),
          must(ui.api("GET", "/admin/plugins/history")),
        ]);
        return (
          <>
            <div id="op-result" aria-live="polite"></div>
            {ui.admin && (
              <ActionForm
                ui={ui}
                action="/ui/plugins/reload"
                hx={LONG}
                button="Reload from the lockfile"
                buttonClass="secondary"
              />
            )}
            <Packages ui={ui} registry={registry} />
            {ui.admin && (
              // The catalog asks the registries for the newest versions, which can take a while: it loads after the page.
              <Section
                id="catalog"
                title="Catalog"
                attrs={{ "hx-get": "/ui/plugins/catalog", "hx-trigger": "load", "hx-swap": "outerHTML" }}
              >
                <p role="status">
                  Asking the registries for the newest versions… <a href="/ui/plugins/catalog">Open the catalog</a>
                </p>
              </Section>
            )}
            {ui.admin && (
              <Section id="history" title="History">
                <Table rows={history.items} columns={historyColumns(ui)} />
              </Section>
            )}
          </>
        );
      }))
    .get("/plugins/catalog", (c) =>
      renderPart(c, { ...PAGE, title: "Plugin catalog" }, async (ui) => {
        const catalog = await must(ui.api("GET", "/admin/catalog"));
        return { body: <Catalog ui={ui} items={catalog.items} /> };
      }))
    .get("/plugins/preview", (c) =>
      renderPage(c, { ...PAGE, title: "Install a plugin package" }, async (ui) => {
        const catalog = c.req.query("catalog");
        const specifier = c.req.query("specifier");
        const request: Record<string, string> = catalog ? { catalog } : { specifier: specifier ?? "" };
        const entry = catalog
          ? (await must(ui.api("GET", "/admin/catalog"))).items.find((e: Json) => e.name === catalog)
          : undefined;
        const answer = await ui.api("POST", "/admin/plugins", { ...request, accept_permissions: false });
        return (
          <>
            <p>
              Package: <code>{catalog ? `${catalog} (${entry?.specifier ?? "not in the catalog"})` : specifier}</code>
            </p>
            {entry && <p>{entry.description}</p>}
            {entry?.latest_in_range && <p>Resolves to version {entry.latest_in_range}.</p>}
            <Preview ui={ui} answer={answer} title="Install" action="/ui/plugins/install" fields={request} />
          </>
        );
      }))
    .post("/plugins/install", (c) =>
      renderPart(c, PAGE, async (ui) => {
        const form = await c.req.formData();
        const catalog = form.get("catalog");
        const body: Json = catalog ? { catalog: String(catalog) } : { specifier: String(form.get("specifier") ?? "") };
        body.accept_permissions = form.get("accept") === "true";
        const answer = await withManifests(ui, await ui.api("POST", "/admin/plugins", body));
        return { body: <ChangeResult ui={ui} title="Install" answer={answer} />, status: answer.status };
      }))
    .get("/plugins/upgrade", (c) =>
      renderPage(c, { ...PAGE, title: "Upgrade a plugin package" }, async (ui) => {
        const name = c.req.query("package") ?? "";
        const version = c.req.query("version") ?? "";
        const registry = await must(ui.api("GET", "/admin/plugins"));
        const current = registry.items.find((p: Json) => p.name === name);
        const answer = await ui.api("PATCH", `/admin/plugins/${seg(name)}`, { version, accept_permissions: false });
        return (
          <>
            <p>
              Upgrade <code>{name}</code> from {current?.version ?? "(not installed)"} to{" "}
              <code>{version}</code>. The new version is fetched, verified and inspected; the upgrade is refused when it
              drops an entry point a Plugin node uses. What the new version will be allowed is below; the full diff of
              entry points, <code>api_version</code>, network hosts and credential fields is shown once it is applied.
            </p>
            {current && <EntryTable entries={current.entries} />}
            <Preview
              current={current?.entries}
              ui={ui}
              answer={answer}
              title={`Upgrade of ${name}`}
              action="/ui/plugins/upgrade"
              fields={{ package: name, version }}
            />
          </>
        );
      }))
    .post("/plugins/upgrade", (c) =>
      renderPart(c, PAGE, async (ui) => {
        const form = await c.req.formData();
        const name = String(form.get("package") ?? "");
        const body: Json = { version: String(form.get("version") ?? "") };
        body.accept_permissions = form.get("accept") === "true";
        const answer = await withManifests(ui, await ui.api("PATCH", `/admin/plugins/${seg(name)}`, body));
        return { body: <ChangeResult ui={ui} title={`Upgrade of ${name}`} answer={answer} />, status: answer.status };
      }))
    .post("/plugins/remove", (c) =>
      renderPart(c, PAGE, async (ui) => {
        const form = await c.req.formData();
        const name = String(form.get("package") ?? "");
        const force = form.get("force") === "true";
        const answer = await ui.api("DELETE", `/admin/plugins/${seg(name)}?force=${force}`);
        return {
          body: <ChangeResult ui={ui} title={`Removal of ${name}`} answer={answer} retry={{ package: name }} />,
          status: answer.status,
        };
      }))
    .post("/plugins/rollback", (c) =>
      renderPart(c, PAGE, async (ui) => {
        const form = await c.req.formData();
        const answer = await ui.api("POST", "/admin/plugins/rollback", { revision: Number(form.get("revision")) });
        return { body: <ChangeResult ui={ui} title="Rollback" answer={answer} />, status: answer.status };
      }))
    .post("/plugins/reload", (c) =>
      renderPart(c, PAGE, async (ui) => {
        const answer = await ui.api("POST", "/admin/plugins/reload");
        return { body: <ChangeResult ui={ui} title="Reload" answer={answer} />, status: answer.status };
      }));
}
