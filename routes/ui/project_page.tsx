/**
 * A project's page with its "Configuration" and "Logs" tabs, answered by the
 * plugins its bindings choose. Configuration: keys, data types and values
 * (secret values masked; an admin reveals one on request), add, edit,
 * delete. Logs: time range, level and field filters, cursor paging, and a
 * histogram drawn as inline SVG when the plugin supports one. Both show the
 * `source` block: which plugin answered, from which package, and why.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { must, type Problem, problemOf, seg } from "./_api.ts";
import { ActionForm, errorsByPointer, FormCard, SelectField, TextField } from "./_forms.tsx";
import { Notice, noticeText, ProblemBox, type Ui, type UiEnv } from "./_layout.tsx";
import { loadedManifests } from "./_manifests.ts";
import { renderPage, renderPart } from "./_render.tsx";
import { Table } from "./_table.tsx";
import { Histogram, LogFilters, logsQuery, pageLink } from "./_logs.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

const SECTION = "Projects";
const MASK = "********";

const REASONS: Record<string, string> = {
  project_default: "it is the project's default for this tab",
  project_type_default: "it is a project type's default for this tab",
  only_candidate: "it is the only binding available for this tab",
  source: "the request named it with ?source=",
};

function Source(props: { source: Json }) {
  const s = props.source;
  if (!s) return null;
  return (
    <p class="source">
      Answered by <strong>{s.label}</strong> (<code>{s.service}/{s.slug}</code>, entry point{" "}
      <code>{s.plugin}</code>) from package <code>{s.package}</code> {s.version} because {REASONS[s.reason] ?? s.reason}
      {s.binding_from ? ` (binding from ${s.binding_from})` : ""}.
    </p>
  );
}

function Tabs(props: { base: string; current: string }) {
  return (
    <nav aria-label="Project tabs">
      <ul class="tabs" role="list">
        {["Configuration", "Logs"].map((name) => (
          <li>
            <a
              href={`${props.base}?tab=${name.toLowerCase()}`}
              aria-current={props.current === name.toLowerCase() ? "page" : undefined}
            >
              {name}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

interface Failed {
  problem: Problem;
  values: Record<string, string>;
}

async function configurationTab(ui: Ui, org: string, id: string, self: string, failed?: Failed) {
  const base = `/orgs/${seg(org)}/projects/${seg(id)}/configuration`;
  const keys = await ui.api("GET", base);
  if (!keys.ok) return <ProblemBox problem={problemOf(keys)} />;
  const values = await must(ui.api("POST", `${base}/values`, {}));
  const byKey = new Map<string, Json>((values.items as Json[]).map((v) => [v.key, v]));
  const manifest = ui.admin ? (await loadedManifests(ui)).get(keys.body.source?.plugin) : undefined;
  const types = manifest?.data_types ?? [];
  const errors = errorsByPointer(failed?.problem);
  return (
    <>
      <Source source={keys.body.source} />
      {keys.body.prefix && (
        <p>
          Prefix <code>{keys.body.prefix}</code>
        </p>
      )}
      <Table
        caption="Configuration keys"
        rows={(keys.body.items as Json[]).map((k) => {
          const v = byKey.get(k.key);
          return { k, v, secret: k.secret || v?.masked, cell: `value-${k.key.replace(/[^A-Za-z0-9_-]/g, "_")}` };
        })}
        columns={[
          { header: "Key", cell: ({ k }) => <code>{k.key}</code> },
          { header: "Data type", cell: ({ k, secret }) => `${k.data_type}${secret ? " (secret)" : ""}` },
          {
            header: "Value",
            id: ({ cell }) => cell,
            cell: ({ v, secret }) =>
              secret ? <span aria-label="secret value, hidden">{MASK}</span> : <code>{v?.value ?? ""}</code>,
          },
          ui.admin && {
            header: "Actions",
            cell: ({ k, secret, cell }) => (
              <>
                {secret && (
                  <ActionForm
                    ui={ui}
                    action={`${self}/reveal`}
                    hx={{ "hx-target": `#${cell}` }}
                    class="inline"
                    fields={{ key: k.key }}
                    button="Reveal"
                    buttonClass="secondary"
                    buttonLabel={`Reveal ${k.key}`}
                  />
                )}{" "}
                <ActionForm
                  ui={ui}
                  action={`${self}/delete`}
                  class="inline"
                  fields={{ key: k.key }}
                  button="Delete"
                  buttonClass="danger"
                  buttonLabel={`Delete ${k.key}`}
                />
              </>
            ),
          },
        ]}
      />
      {ui.admin && (
        <FormCard
          ui={ui}
          action={`${self}/set`}
          heading="Add or change a key"
          problem={failed?.problem}
          errors={errors}
          submit="Save key"
        >
          <TextField pointer="/key" label="Key" value={failed?.values.key} errors={errors} required />
          <SelectField
            id="data-type"
            name="/data_type"
            label="Data type"
            options={(types.length ? types : [{ name: "string", label: "String" }]).map((t) => ({
              value: t.name,
              text: `${t.label ?? t.name}${t.secret ? " (secret)" : ""}`,
              selected: failed?.values["/data_type"] === t.name,
            }))}
          />
          <TextField
            pointer="/value"
            label="Value"
            errors={errors}
            type="password"
            autocomplete="off"
            help="Never shown back; a secret data type is masked in the table."
          />
        </FormCard>
      )}
    </>
  );
}

async function logsTab(ui: Ui, org: string, id: string, c: Context<UiEnv>) {
  const base = `/orgs/${seg(org)}/projects/${seg(id)}/logs`;
  const given = c.req.queries();
  // Pin the end of the range, so every page of this search covers the same window (a cursor belongs to its query).
  const pinned = given.end?.[0] ? given : { ...given, end: [new Date().toISOString()] };
  const query = logsQuery(pinned);
  const [logs, schema, histogram] = await Promise.all([
    ui.api("GET", `${base}?${query}`),
    ui.api("GET", `${base}/schema`),
    ui.api("GET", `${base}/histogram?${logsQuery(pinned, { paging: false })}`),
  ]);
  const self = `/ui/orgs/${seg(org)}/projects/${seg(id)}`;
  return (
    <>
      {logs.ok && <Source source={logs.body.source} />}
      <LogFilters action={self} fields={schema.ok ? schema.body.fields : []} query={c.req.queries()} />
      {histogram.ok && <Histogram buckets={histogram.body.buckets} warnings={histogram.body.warnings} />}
      {!logs.ok ? <ProblemBox problem={problemOf(logs)} /> : (
        <>
          {(logs.body.warnings ?? []).map((w: string) => <p class="help">{w}</p>)}
          <Table
            caption="Log entries, newest first"
            rows={logs.body.entries as Json[]}
            columns={[
              { header: "Time", cell: (e) => e.timestamp },
              { header: "Level", cell: (e) => e.level ?? "—" },
              { header: "Message", cell: (e) => e.message },
              {
                header: "Fields",
                cell: (e) => <code>{Object.entries(e.fields ?? {}).map(([k, v]) => `${k}=${v}`).join(" ")}</code>,
              },
            ]}
          />
          {logs.body.entries.length === 0 && <p>No log entries match.</p>}
          {logs.body.next_cursor && (
            <p>
              <a href={`${self}?${pageLink(pinned, logs.body.next_cursor)}`}>
                Older entries
              </a>
            </p>
          )}
        </>
      )}
    </>
  );
}

function projectView(c: Context<UiEnv>, failed?: Failed) {
  const { org, id } = c.req.param() as { org: string; id: string };
  const tab = c.req.query("tab") === "logs" ? "logs" : "configuration";
  return renderPage(
    c,
    { title: `Project ${id}`, section: SECTION, status: failed?.problem.status ?? 200 },
    async (ui) => {
      const project = await must(ui.api("GET", `/orgs/${seg(org)}/projects/${seg(id)}`));
      const self = `/ui/orgs/${seg(org)}/projects/${seg(project.slug)}`;
      return (
        <>
          <Notice text={noticeText(c.req.query("notice"))} />
          <p>
            {project.name} in <code>{org}</code> · types {project.project_types.join(", ") || "none"} ·{" "}
            <a href={`${self}/bindings`}>Bindings</a>
          </p>
          <Tabs base={self} current={tab} />
          <section aria-label={tab === "logs" ? "Logs" : "Configuration"}>
            {tab === "logs" ? await logsTab(ui, org, id, c) : await configurationTab(ui, org, id, self, failed)}
          </section>
        </>
      );
    },
  );
}

/** The project page, mounted under `/ui`. */
export function projectPage(): Hono<UiEnv> {
  const config = (org: string, id: string) => `/orgs/${seg(org)}/projects/${seg(id)}/configuration`;
  return new Hono<UiEnv>()
    .get("/orgs/:org/projects/:id", (c) => projectView(c))
    .post("/orgs/:org/projects/:id/set", async (c) => {
      const { org, id } = c.req.param();
      const form = await c.req.formData();
      const key = String(form.get("/key") ?? "");
      const body = { value: String(form.get("/value") ?? ""), data_type: String(form.get("/data_type") ?? "") };
      if (!key) {
        const problem = {
          status: 422,
          title: "Validation failed",
          detail: "Give a key",
          errors: [{ pointer: "/key", message: "is required" }],
        };
        return projectView(c, { problem, values: { "/data_type": body.data_type } });
      }
      const answer = await c.get("ui").api("PUT", `${config(org, id)}/${seg(key)}`, body);
      if (answer.ok) return c.redirect(`/ui/orgs/${seg(org)}/projects/${seg(id)}?tab=configuration&notice=saved`, 303);
      return projectView(c, { problem: problemOf(answer), values: { key, "/data_type": body.data_type } });
    })
    .post("/orgs/:org/projects/:id/delete", async (c) => {
      const { org, id } = c.req.param();
      const key = String((await c.req.formData()).get("key") ?? "");
      const answer = await c.get("ui").api("DELETE", `${config(org, id)}/${seg(key)}`);
      if (answer.ok) {
        return c.redirect(`/ui/orgs/${seg(org)}/projects/${seg(id)}?tab=configuration&notice=deleted`, 303);
      }
      return projectView(c, { problem: problemOf(answer), values: {} });
    })
    .post(
      "/orgs/:org/projects/:id/reveal",
      (c) =>
        renderPart(c, { title: "Reveal a value", section: SECTION }, async (ui) => {
          const { org, id } = c.req.param();
          const key = String((await c.req.formData()).get("key") ?? "");
          const values = await must(ui.api("POST", `${config(org, id)}/values`, { keys: [key] }));
          const item = (values.items as Json[]).find((v) => v.key === key);
          return { body: <code>{item?.masked ? MASK : item?.value ?? "(deleted)"}</code> };
        }),
    );
}
