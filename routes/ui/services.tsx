/**
 * The Services pages: third-party services of every organization, one
 * service with its applications (credential fields from the entry points of
 * its Plugin nodes, never prefilled, shown as set or not set) and its Plugin
 * nodes. A Plugin node's own page is `plugin_nodes.tsx`.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { must, type Problem, problemOf, seg } from "./_api.ts";
import {
  described,
  errorsByPointer,
  Field,
  fieldId,
  FormCard,
  formValues,
  NameFields,
  SelectField,
  TextField,
} from "./_forms.tsx";
import { Csrf, Notice, noticeText, ProblemBox, Section, Status, type Ui, type UiEnv } from "./_layout.tsx";
import { Table } from "./_table.tsx";
import { type CredentialField, credentialFields, loadedManifests, type Manifest } from "./_manifests.ts";
import { renderPage } from "./_render.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

const SECTION = "Services";

/** The optional fields of a new third-party service: pointer and label. */
const OPTIONAL_FIELDS = [["/vendor", "Vendor"], ["/base_url", "Base URL"], ["/region", "Region"]] as const;

/** Where a failed form is shown again: its problem and what was typed. */
interface Failed {
  form: string;
  problem: Problem;
  values: Record<string, string>;
}

function ServiceList(props: { ui: Ui; orgs: Json[]; services: Map<string, Json[]>; failed?: Failed | undefined }) {
  const { ui, failed } = props;
  const errors = errorsByPointer(failed?.problem);
  const v = failed?.values ?? {};
  return (
    <>
      {!ui.admin && <ProblemBox problem={failed?.problem} />}
      {props.orgs.length === 0 && <p>No organization yet; create one on the Projects page.</p>}
      {props.orgs.map((org) => (
        <Section id={`org-${org.slug}`} title={<>{org.name} ({org.slug})</>}>
          <Table
            rows={props.services.get(org.slug) ?? []}
            columns={[
              {
                header: "Service",
                cell: (s) => (
                  <>
                    <a href={`/ui/orgs/${seg(org.slug)}/services/${seg(s.slug)}`}>{s.name}</a> <code>{s.slug}</code>
                  </>
                ),
              },
              { header: "Vendor", cell: (s) => s.vendor ?? "—" },
              { header: "Region", cell: (s) => s.region ?? "—" },
            ]}
          />
        </Section>
      ))}
      {ui.admin && props.orgs.length > 0 && (
        <FormCard
          ui={ui}
          action="/ui/services"
          heading="Add a third-party service"
          problem={failed?.problem}
          errors={errors}
          submit="Add service"
        >
          <SelectField
            id="svc-org"
            name="org"
            label="Organization"
            options={props.orgs.map((o) => ({ value: o.slug, text: o.name, selected: v.org === o.slug }))}
          />
          <NameFields values={v} errors={errors} />
          {OPTIONAL_FIELDS.map(([pointer, label]) => (
            <TextField pointer={pointer} label={label} value={v[pointer]} errors={errors} />
          ))}
        </FormCard>
      )}
    </>
  );
}

/** Inputs of credential fields: secret ones are password inputs (text areas when multiline), never prefilled. */
function CredentialInputs(
  props: { fields: CredentialField[]; set: Set<string>; errors: Map<string, string>; scope: string },
) {
  if (props.fields.length === 0) {
    return <p class="help">The entry points of this service's Plugin nodes declare no credential fields.</p>;
  }
  return (
    <>
      {props.fields.map((f) => {
        const pointer = `/credentials/${f.name}`;
        const id = fieldId(`${props.scope}${pointer}`);
        const error = props.errors.get(pointer);
        const help = `${props.set.has(f.name) ? "Set" : "Not set"}${f.secret === false ? "" : ", secret"}${
          f.required === false ? ", optional" : ""
        }. Leave empty to keep the stored value.`;
        const attrs = { ...described(id, { help, error }), name: pointer, autocomplete: "off" };
        return (
          <Field id={id} label={f.label ?? f.name} help={help} error={error}>
            {f.multiline
              ? <textarea {...attrs} rows={4} spellcheck={false}></textarea>
              : <input {...attrs} type={f.secret === false ? "text" : "password"} value="" />}
          </Field>
        );
      })}
    </>
  );
}

function readCredentials(form: FormData): Record<string, string> {
  const credentials: Record<string, string> = {};
  for (const [k, v] of form) {
    if (k.startsWith("/credentials/") && typeof v === "string" && v !== "") credentials[k.slice(13)] = v;
  }
  return credentials;
}

async function servicePage(
  c: Context<UiEnv>,
  params: { org: string; svc: string; failed?: Failed; status?: number },
): Promise<Response> {
  const { org, svc, failed } = params;
  const base = `/orgs/${seg(org)}/third-party-services/${seg(svc)}`;
  return await renderPage(
    c,
    { title: `Service ${svc}`, section: SECTION, status: params.status ?? 200 },
    async (ui) => {
      const [service, apps, nodes, manifests] = await Promise.all([
        must(ui.api("GET", base)),
        must(ui.api("GET", `${base}/applications`)),
        must(ui.api("GET", `${base}/plugins`)),
        loadedManifests(ui),
      ]);
      const chosen = c.req.query("for");
      const slugs = new Set<string>((nodes.items as Json[]).map((n) => n.plugin));
      if (chosen) slugs.add(chosen);
      const fields = credentialFields(manifests, slugs);
      const errors = errorsByPointer(failed?.problem);
      const failedOn = (form: string) => failed?.form === form ? failed : undefined;
      const ui_ = ui;
      const appErrors = failedOn("app") ? errors : new Map<string, string>();
      return (
        <>
          <Notice text={noticeText(c.req.query("notice"))} />
          <p>
            <a href="/ui/services">All services</a> · organization <code>{org}</code>
          </p>
          <dl>
            <dt>Name</dt>
            <dd>{service.name}</dd>
            <dt>Vendor</dt>
            <dd>{service.vendor ?? "—"}</dd>
            <dt>Region</dt>
            <dd>{service.region ?? "—"}</dd>
          </dl>
          <Section id="apps" title="Applications">
            {(apps.items as Json[]).map((a) => {
              const set = new Set<string>(a.credential_fields);
              const shown = fields.length ? fields : [...set].map((name) => ({ name }));
              const mine = failedOn(`app:${a.slug}`);
              return (
                <div class="card">
                  <h3>
                    {a.name} <code>{a.slug}</code>
                  </h3>
                  <ul>
                    {shown.map((f) => (
                      <li>
                        {("label" in f && f.label) || f.name}: <strong>{set.has(f.name) ? "set" : "not set"}</strong>
                        {a.credentials?.[f.name] !== undefined && (
                          <>
                            (<code>{a.credentials[f.name]}</code>)
                          </>
                        )}
                      </li>
                    ))}
                  </ul>
                  {ui_.admin && (
                    <form
                      method="post"
                      action={`/ui/orgs/${seg(org)}/services/${seg(svc)}/applications/${seg(a.slug)}`}
                    >
                      <Csrf ui={ui_} />
                      <ProblemBox problem={mine?.problem} shown={new Set(errors.keys())} />
                      <CredentialInputs fields={fields} set={set} errors={mine ? errors : new Map()} scope={a.slug} />
                      <button type="submit">Save credentials of {a.slug}</button>
                    </form>
                  )}
                </div>
              );
            })}
            {ui_.admin && (
              <FormCard
                ui={ui_}
                action={`/ui/orgs/${seg(org)}/services/${seg(svc)}/applications`}
                heading="Add an application"
                level="h3"
                problem={failedOn("app")?.problem}
                errors={errors}
                submit="Add application"
              >
                {chosen && <input type="hidden" name="for" value={chosen} />}
                <NameFields noun="Application" values={failedOn("app")?.values} errors={appErrors} />
                <CredentialInputs fields={fields} set={new Set()} errors={appErrors} scope="new" />
              </FormCard>
            )}
            {ui_.admin && (
              <form method="get" action={`/ui/orgs/${seg(org)}/services/${seg(svc)}`} class="row">
                <SelectField
                  id="for"
                  name="for"
                  label="Show the credential fields of entry point"
                  options={[...manifests.values()].map((m) => ({
                    value: m.slug,
                    text: m.slug,
                    selected: chosen === m.slug,
                  }))}
                />
                <button type="submit" class="secondary">Show fields</button>
              </form>
            )}
          </Section>
          <Section id="nodes" title="Plugin nodes">
            <NodeTable org={org} svc={svc} nodes={nodes.items} />
            {ui_.admin && <NewNodeChooser org={org} svc={svc} manifests={manifests} />}
          </Section>
        </>
      );
    },
  );
}

function NodeTable(props: { org: string; svc: string; nodes: Json[] }) {
  return (
    <Table
      rows={props.nodes}
      rowClass={(n) => n.status !== "loaded" || !n.enabled ? "bad" : undefined}
      columns={[
        {
          header: "Plugin node",
          cell: (n) => (
            <>
              <a href={`/ui/orgs/${seg(props.org)}/services/${seg(props.svc)}/plugins/${seg(n.slug)}`}>{n.label}</a>
              {" "}
              <code>{n.slug}</code>
            </>
          ),
        },
        { header: "Entry point", cell: (n) => <code>{n.plugin}</code> },
        { header: "Type", cell: (n) => n.plugin_type ?? "—" },
        { header: "Application", cell: (n) => n.application ?? "—" },
        {
          header: "Status",
          cell: (n) => (
            <>
              <Status status={n.status} /> {n.enabled ? "" : <span class="badge bad">disabled</span>}
            </>
          ),
        },
      ]}
    />
  );
}

function NewNodeChooser(props: { org: string; svc: string; manifests: Map<string, Manifest> }) {
  return (
    <form method="get" action={`/ui/orgs/${seg(props.org)}/services/${seg(props.svc)}/plugins/new`} class="row card">
      <SelectField
        id="new-plugin"
        name="plugin"
        label="Add a Plugin node of entry point"
        options={[...props.manifests.values()].map((m) => ({
          value: m.slug,
          text: `${m.slug} (${m.plugin_type}) — ${m.name}`,
        }))}
      />
      <button type="submit">Next: options</button>
    </form>
  );
}

/** The service pages, mounted under `/ui`. */
export function servicePages(): Hono<UiEnv> {
  const list = (c: Context<UiEnv>, failed?: Failed, status = 200) =>
    renderPage(c, { title: "Services", section: SECTION, status }, async (ui) => {
      const orgs = (await must(ui.api("GET", "/orgs"))).items as Json[];
      const services = new Map<string, Json[]>();
      await Promise.all(orgs.map(async (o) => {
        services.set(o.slug, (await must(ui.api("GET", `/orgs/${seg(o.slug)}/third-party-services`))).items);
      }));
      return <ServiceList ui={ui} orgs={orgs} services={services} failed={failed} />;
    });
  return new Hono<UiEnv>()
    .get("/services", (c) => list(c))
    .post("/services", async (c) => {
      const values = formValues(await c.req.formData());
      const body: Record<string, string> = {};
      for (const k of ["slug", "name", "vendor", "base_url", "region"]) if (values[`/${k}`]) body[k] = values[`/${k}`]!;
      const answer = await c.get("ui").api("POST", `/orgs/${seg(values.org ?? "")}/third-party-services`, body);
      if (answer.ok) return c.redirect(`/ui/orgs/${seg(values.org!)}/services/${seg(body.slug!)}?notice=created`, 303);
      return list(c, { form: "service", problem: problemOf(answer), values }, answer.status);
    })
    .get("/orgs/:org/services/:svc", (c) => servicePage(c, c.req.param()))
    .post("/orgs/:org/services/:svc/applications", async (c) => {
      const { org, svc } = c.req.param();
      const form = await c.req.formData();
      const values = formValues(form);
      const body = { slug: values["/slug"] ?? "", name: values["/name"] ?? "", credentials: readCredentials(form) };
      const answer = await c.get("ui").api(
        "POST",
        `/orgs/${seg(org)}/third-party-services/${seg(svc)}/applications`,
        body,
      );
      const chosen = values.for ? `for=${encodeURIComponent(values.for)}&` : "";
      if (answer.ok) return c.redirect(`/ui/orgs/${seg(org)}/services/${seg(svc)}?${chosen}notice=created`, 303);
      return servicePage(c, {
        org,
        svc,
        status: answer.status,
        failed: { form: "app", problem: problemOf(answer), values },
      });
    })
    .post("/orgs/:org/services/:svc/applications/:app", async (c) => {
      const { org, svc, app } = c.req.param();
      const credentials = readCredentials(await c.req.formData());
      const path = `/orgs/${seg(org)}/third-party-services/${seg(svc)}/applications/${seg(app)}`;
      const answer = await c.get("ui").api("PATCH", path, { credentials });
      if (answer.ok) return c.redirect(`/ui/orgs/${seg(org)}/services/${seg(svc)}?notice=saved`, 303);
      return servicePage(c, {
        org,
        svc,
        status: answer.status,
        failed: { form: `app:${app}`, problem: problemOf(answer), values: {} },
      });
    });
}
