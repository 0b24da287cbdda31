/**
 * A Plugin node's pages: the new-node form and the node page, both with an
 * options form generated from the entry point's manifest JSON Schema
 * (`_schema_form.tsx`); the API's validation errors appear next to the field
 * their JSON pointer names. The node page offers test-connection only when
 * the API declares that operation.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { FieldError } from "./_api.ts";
import { must, type Problem, problemOf, seg } from "./_api.ts";
import { ActionForm, errorsByPointer, fieldId, formValues, SelectField, TextField } from "./_forms.tsx";
import { Csrf, Notice, noticeText, ProblemBox, Status, type Ui, type UiEnv } from "./_layout.tsx";
import { loadedManifests, type Manifest } from "./_manifests.ts";
import { renderPage, renderPart } from "./_render.tsx";
import { readSchemaForm, SchemaFields } from "./_schema_form.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

const SECTION = "Services";
const TEST_PATH = "/orgs/{org}/third-party-services/{svc}/plugins/{plugin}/test";

interface Draft {
  values: Record<string, string>;
  options: Record<string, unknown> | undefined;
  problem: Problem;
}

function NodeForm(
  props: {
    ui: Ui;
    action: string;
    manifest: Manifest | undefined;
    apps: Json[];
    node?: Json;
    draft?: Draft | undefined;
    submit: string;
  },
) {
  const { node, draft, manifest } = props;
  const errors = errorsByPointer(draft?.problem);
  const v = draft?.values ?? {};
  const application = v["/application"] ?? node?.application ?? "";
  const shown = new Set<string>();
  for (const p of errors.keys()) if (!p.startsWith("/options/") || manifest?.options) shown.add(p);
  return (
    <form method="post" action={props.action} class="card" novalidate>
      <Csrf ui={props.ui} />
      <ProblemBox problem={draft?.problem} shown={shown} />
      {!node && <TextField pointer="/slug" label="Slug" value={v["/slug"]} errors={errors} required />}
      <TextField pointer="/label" label="Label" value={v["/label"] ?? node?.label} errors={errors} required />
      <SelectField
        id={fieldId("/application")}
        name="/application"
        label="Application (credentials)"
        error={errors.get("/application")}
        options={[
          { value: "", text: "(the service's only application, or none)" },
          ...props.apps.map((a) => ({
            value: a.slug,
            text: `${a.name} (${a.slug})`,
            selected: application === a.slug,
          })),
        ]}
      />
      <div class="field check">
        <input
          id="enabled"
          type="checkbox"
          name="/enabled"
          value="true"
          checked={draft ? v["/enabled"] === "true" : node?.enabled ?? true}
        />
        <label for="enabled">Enabled</label>
      </div>
      <fieldset>
        <legend>Options of {manifest?.slug ?? "the entry point"}</legend>
        {manifest?.description && <p class="help">{manifest.description}</p>}
        {manifest?.options
          ? (
            <SchemaFields
              schema={manifest.options}
              value={draft?.options ?? node?.options ?? {}}
              pointer="/options"
              errors={errors}
            />
          )
          : <p>This entry point is not loaded; its options cannot be edited now.</p>}
      </fieldset>
      <button type="submit">{props.submit}</button>
    </form>
  );
}

function readNodeForm(form: FormData, manifest: Manifest | undefined) {
  const values = formValues(form);
  const read = manifest?.options ? readSchemaForm(manifest.options, form, "/options") : { value: {}, errors: [] };
  const body: Record<string, unknown> = {
    label: values["/label"] ?? "",
    application: values["/application"] || null,
    enabled: values["/enabled"] === "true",
    options: read.value,
  };
  return { values, body, errors: read.errors as FieldError[], options: read.value };
}

function clientProblem(errors: FieldError[]): Problem {
  return { status: 422, title: "Validation failed", detail: "Some fields could not be read", errors };
}

async function newNodePage(c: Context<UiEnv>, org: string, svc: string, draft?: Draft) {
  const plugin = c.req.query("plugin") ?? draft?.values.plugin ?? "";
  return await renderPage(
    c,
    { title: `New Plugin node of ${plugin}`, section: SECTION, status: draft?.problem.status ?? 200 },
    async (ui) => {
      const base = `/orgs/${seg(org)}/third-party-services/${seg(svc)}`;
      const [apps, manifests] = await Promise.all([must(ui.api("GET", `${base}/applications`)), loadedManifests(ui)]);
      return (
        <>
          <p>
            <a href={`/ui/orgs/${seg(org)}/services/${seg(svc)}`}>Back to service {svc}</a>
          </p>
          <NodeForm
            ui={ui}
            action={`/ui/orgs/${seg(org)}/services/${seg(svc)}/plugins?plugin=${encodeURIComponent(plugin)}`}
            manifest={manifests.get(plugin)}
            apps={apps.items}
            draft={draft}
            submit="Create Plugin node"
          />
        </>
      );
    },
  );
}

async function nodePage(c: Context<UiEnv>, org: string, svc: string, plugin: string, draft?: Draft) {
  const base = `/orgs/${seg(org)}/third-party-services/${seg(svc)}`;
  return await renderPage(
    c,
    { title: `Plugin node ${plugin}`, section: SECTION, status: draft?.problem.status ?? 200 },
    async (ui) => {
      const [node, apps, manifests] = await Promise.all([
        must(ui.api("GET", `${base}/plugins/${seg(plugin)}`)),
        must(ui.api("GET", `${base}/applications`)),
        loadedManifests(ui),
      ]);
      const self = `/ui/orgs/${seg(org)}/services/${seg(svc)}/plugins/${seg(node.slug)}`;
      return (
        <>
          <Notice text={noticeText(c.req.query("notice"))} />
          <p>
            <a href={`/ui/orgs/${seg(org)}/services/${seg(svc)}`}>Back to service {svc}</a>
          </p>
          <dl>
            <dt>Entry point</dt>
            <dd>
              <code>{node.plugin}</code> ({node.plugin_type}) <Status status={node.status} />
            </dd>
            <dt>Id</dt>
            <dd>
              <code>{node.id}</code>
            </dd>
            <dt>Network hosts</dt>
            <dd>{(node.network?.hosts ?? []).join(", ") || "none"}</dd>
          </dl>
          {ui.admin
            ? (
              <NodeForm
                ui={ui}
                action={self}
                manifest={manifests.get(node.plugin)}
                apps={apps.items}
                node={node}
                draft={draft}
                submit="Save Plugin node"
              />
            )
            : <pre>{JSON.stringify(node.options, null, 2)}</pre>}
          {ui.admin && ui.operation("post", TEST_PATH) && (
            <ActionForm
              ui={ui}
              action={`${self}/test`}
              hx={{ "hx-target": "#test-result", "hx-indicator": "#progress" }}
              button="Test connection"
              buttonClass="secondary"
            >
              <div id="test-result" aria-live="polite"></div>
            </ActionForm>
          )}
          {ui.admin && (
            <ActionForm
              ui={ui}
              action={`${self}/delete`}
              class="card"
              button={`Delete Plugin node ${node.slug}`}
              buttonClass="danger"
            />
          )}
        </>
      );
    },
  );
}

async function manifestOf(ui: Ui, plugin: string): Promise<Manifest | undefined> {
  return (await loadedManifests(ui)).get(plugin);
}

/** The Plugin node pages, mounted under `/ui`. */
export function pluginNodePages(): Hono<UiEnv> {
  return new Hono<UiEnv>()
    .get("/orgs/:org/services/:svc/plugins/new", (c) => newNodePage(c, c.req.param("org"), c.req.param("svc")))
    .post("/orgs/:org/services/:svc/plugins", async (c) => {
      const { org, svc } = c.req.param();
      const ui = c.get("ui");
      const plugin = c.req.query("plugin") ?? "";
      const form = await c.req.formData();
      const read = readNodeForm(form, await manifestOf(ui, plugin));
      read.values.plugin = plugin;
      if (read.errors.length) {
        return newNodePage(c, org, svc, {
          values: read.values,
          options: read.options,
          problem: clientProblem(read.errors),
        });
      }
      const body = { ...read.body, slug: read.values["/slug"] ?? "", plugin };
      const answer = await ui.api("POST", `/orgs/${seg(org)}/third-party-services/${seg(svc)}/plugins`, body);
      if (answer.ok) {
        return c.redirect(
          `/ui/orgs/${seg(org)}/services/${seg(svc)}/plugins/${seg(answer.body.slug)}?notice=created`,
          303,
        );
      }
      return newNodePage(c, org, svc, { values: read.values, options: read.options, problem: problemOf(answer) });
    })
    .get("/orgs/:org/services/:svc/plugins/:plugin", (c) => {
      const { org, svc, plugin } = c.req.param();
      return nodePage(c, org, svc, plugin);
    })
    .post("/orgs/:org/services/:svc/plugins/:plugin", async (c) => {
      const { org, svc, plugin } = c.req.param();
      const ui = c.get("ui");
      const path = `/orgs/${seg(org)}/third-party-services/${seg(svc)}/plugins/${seg(plugin)}`;
      const node = await ui.api("GET", path);
      const read = readNodeForm(await c.req.formData(), node.ok ? await manifestOf(ui, node.body.plugin) : undefined);
      if (read.errors.length) {
        return nodePage(c, org, svc, plugin, {
          values: read.values,
          options: read.options,
          problem: clientProblem(read.errors),
        });
      }
      const answer = await ui.api("PATCH", path, read.body);
      if (answer.ok) {
        return c.redirect(`/ui/orgs/${seg(org)}/services/${seg(svc)}/plugins/${seg(plugin)}?notice=saved`, 303);
      }
      return nodePage(c, org, svc, plugin, { values: read.values, options: read.options, problem: problemOf(answer) });
    })
    .post("/orgs/:org/services/:svc/plugins/:plugin/delete", async (c) => {
      const { org, svc, plugin } = c.req.param();
      const path = `/orgs/${seg(org)}/third-party-services/${seg(svc)}/plugins/${seg(plugin)}`;
      const answer = await c.get("ui").api("DELETE", path);
      if (answer.ok) return c.redirect(`/ui/orgs/${seg(org)}/services/${seg(svc)}?notice=deleted`, 303);
      return renderPage(c, { title: `Plugin node ${plugin}`, section: SECTION, status: answer.status }, () => (
        <>
          <ProblemBox problem={problemOf(answer)} />
          <a href={`/ui/orgs/${seg(org)}/services/${seg(svc)}/plugins/${seg(plugin)}`}>Back to the Plugin node</a>
        </>
      ));
    })
    .post(
      "/orgs/:org/services/:svc/plugins/:plugin/test",
      (c) =>
        renderPart(c, { title: "Test connection", section: SECTION }, async (ui) => {
          const { org, svc, plugin } = c.req.param();
          const answer = await ui.api(
            "POST",
            `/orgs/${seg(org)}/third-party-services/${seg(svc)}/plugins/${seg(plugin)}/test`,
          );
          if (!answer.ok) return { body: <ProblemBox problem={problemOf(answer)} />, status: answer.status };
          const b = answer.body ?? {};
          return {
            body: (
              <p class={b.ok === false ? "problem" : "notice"} role="status">
                {b.ok === false ? "Connection failed" : "Connection works"}
                {b.error ? `: ${b.error.kind}: ${b.error.message}` : ""}
                {Array.isArray(b.checked) && b.checked.length ? ` (checked ${b.checked.join(", ")})` : ""}
                {typeof b.duration_ms === "number" ? ` in ${b.duration_ms} ms` : ""}
              </p>
            ),
          };
        }),
    );
}
