/**
 * The Projects pages: organizations, project types and projects; the
 * bindings editor of a project type and of a project; a project's effective
 * bindings with the Plugin node that wins each tab and why.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { must, type Problem, problemOf, seg } from "./_api.ts";
import { BindingsEditor, type PreviewProject, readBindings, TemplatePreview } from "./_bindings_editor.tsx";
import { errorsByPointer, FormCard, formValues, NameFields, SelectField, TextField } from "./_forms.tsx";
import { Notice, noticeText, ProblemBox, Section, type Ui, type UiEnv } from "./_layout.tsx";
import { renderPage } from "./_render.tsx";
import { Table } from "./_table.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

const SECTION = "Projects";

const WHY: Record<string, string> = {
  project_default: "the project's own default binding",
  project_type_default: "the default binding of one of its project types",
  only_candidate: "the only available binding",
  source: "chosen by ?source=",
};

interface Failed {
  form: string;
  problem: Problem;
  values: Record<string, string>;
}

async function orgNodes(ui: Ui, org: string): Promise<Json[]> {
  const services = (await must(ui.api("GET", `/orgs/${seg(org)}/third-party-services`))).items as Json[];
  const lists = await Promise.all(
    services.map(async (s) =>
      (await must(ui.api("GET", `/orgs/${seg(org)}/third-party-services/${seg(s.slug)}/plugins`))).items
    ),
  );
  return lists.flat();
}

function FormCards(props: { ui: Ui; orgs: Json[]; failed?: Failed | undefined }) {
  const { ui, failed } = props;
  const orgs = props.orgs.map((o) => ({ value: o.slug, text: o.name }));
  const on = (form: string) => failed?.form === form ? failed : undefined;
  const Form = (p: { form: string; action: string; heading: string; noun: string; children?: Child }) => {
    const errors = errorsByPointer(on(p.form)?.problem);
    return (
      <FormCard
        ui={ui}
        action={p.action}
        heading={p.heading}
        problem={on(p.form)?.problem}
        errors={errors}
        submit={`Add ${p.noun.toLowerCase()}`}
      >
        {p.form !== "org" && <SelectField id={`${p.form}-org`} name="org" label="Organization" options={orgs} />}
        <NameFields noun={p.noun} values={on(p.form)?.values} errors={errors} scope={p.form} />
        {p.children}
      </FormCard>
    );
  };
  return (
    <div class="row">
      <Form form="org" action="/ui/orgs" heading="Add an organization" noun="Organization" />
      {orgs.length > 0 && (
        <Form form="type" action="/ui/project-types" heading="Add a project type" noun="Project type" />
      )}
      {orgs.length > 0 && (
        <Form form="project" action="/ui/projects" heading="Add a project" noun="Project">
          <TextField
            pointer="/project_types"
            label="Project types"
            help="Slugs, separated by commas"
            value={on("project")?.values["/project_types"]}
            errors={errorsByPointer(on("project")?.problem)}
            scope="project"
          />
        </Form>
      )}
    </div>
  );
}

function listPage(c: Context<UiEnv>, failed?: Failed, status = 200) {
  return renderPage(c, { title: "Projects", section: SECTION, status }, async (ui) => {
    const orgs = (await must(ui.api("GET", "/orgs"))).items as Json[];
    const types = new Map<string, Json[]>();
    const projects = new Map<string, Json[]>();
    await Promise.all(orgs.map(async (o) => {
      types.set(o.slug, (await must(ui.api("GET", `/orgs/${seg(o.slug)}/project-types`))).items);
      projects.set(o.slug, (await must(ui.api("GET", `/orgs/${seg(o.slug)}/projects`))).items);
    }));
    return (
      <>
        <Notice text={noticeText(c.req.query("notice"))} />
        {orgs.map((o) => (
          <Section id={`org-${o.slug}`} title={<>{o.name} ({o.slug})</>}>
            <h3>Project types</h3>
            <ul>
              {(types.get(o.slug) ?? []).map((t) => (
                <li>
                  <a href={`/ui/orgs/${seg(o.slug)}/project-types/${seg(t.slug)}`}>{t.name}</a> <code>{t.slug}</code>
                </li>
              ))}
            </ul>
            <h3>Projects</h3>
            <Table
              rows={projects.get(o.slug) ?? []}
              columns={[
                {
                  header: "Project",
                  cell: (p) => (
                    <>
                      <a href={`/ui/orgs/${seg(o.slug)}/projects/${seg(p.slug)}`}>{p.name}</a> <code>{p.slug}</code>
                    </>
                  ),
                },
                { header: "Project types", cell: (p) => (p.project_types ?? []).join(", ") || "—" },
                {
                  header: "Bindings",
                  cell: (p) => (
                    <a href={`/ui/orgs/${seg(o.slug)}/projects/${seg(p.slug)}/bindings`}>Bindings of {p.slug}</a>
                  ),
                },
              ]}
            />
          </Section>
        ))}
        {ui.admin ? <FormCards ui={ui} orgs={orgs} failed={failed} /> : <ProblemBox problem={failed?.problem} />}
      </>
    );
  });
}

function Effective(props: { tabs: Json; selection: Json; org: string }) {
  return (
    <>
      {Object.entries(props.tabs as Record<string, Json[]>).map(([tab, list]) => {
        const sel = props.selection?.[tab];
        return (
          <Section id={`eff-${tab}`} title={<>Tab {tab}</>} level="h3">
            <p>
              {sel?.kind === "selected"
                ? (
                  <>
                    Answered by <strong>{list.find((b) => b.plugin_id === sel.plugin_id)?.label}</strong> because it is
                    {" "}
                    {WHY[sel.reason] ?? sel.reason}.
                  </>
                )
                : sel?.kind === "ambiguous"
                ? <span class="reason">Ambiguous: {sel.why}</span>
                : <span class="reason">No available plugin answers this tab.</span>}
            </p>
            <Table
              rows={list}
              rowClass={(b) => b.available ? undefined : "bad"}
              columns={[
                {
                  header: "Plugin node",
                  cell: (b) => (
                    <>
                      {b.label} <code>{b.service}/{b.slug}</code>
                      {sel?.plugin_id === b.plugin_id && <strong>&nbsp;(wins)</strong>}
                    </>
                  ),
                },
                { header: "From", cell: (b) => b.from },
                { header: "Default", cell: (b) => b.default ? "yes" : "no" },
                { header: "search_template", cell: (b) => <code>{b.search_template}</code> },
                { header: "Available", cell: (b) => b.available ? "yes" : `no (${b.unavailable_reason})` },
              ]}
            />
          </Section>
        );
      })}
    </>
  );
}

/** A project type or a project, as its bindings page shows it. */
interface BindingsOwner {
  /** The page's title. */
  title: string;
  /** The project type's slug or the project's id or slug, as the path names it. */
  key: string;
  /** Its API path, by slug or id: `/orgs/acme/project-types/http-api`. */
  api: (key: string) => string;
  /** Its bindings page, where the editor posts: `/ui/orgs/acme/project-types/http-api`. */
  page: (key: string) => string;
  /** What the page shows above the editor, and the project whose templates the editor previews. */
  content: (ui: Ui, owner: Json) => Promise<{ body: Child; project: PreviewProject | undefined }>;
}

function typeOwner(c: Context<UiEnv>): BindingsOwner {
  const { org, pt } = c.req.param() as { org: string; pt: string };
  return {
    title: `Project type ${pt}`,
    key: pt,
    api: (key) => `/orgs/${seg(org)}/project-types/${seg(key)}`,
    page: (key) => `/ui/orgs/${seg(org)}/project-types/${seg(key)}`,
    content: async (ui, type) => {
      const projects = await must(ui.api("GET", `/orgs/${seg(org)}/projects`));
      const ofType = (projects.items as Json[]).filter((p) => (p.project_types ?? []).includes(pt));
      const chosen = ofType.find((p) => p.slug === c.req.query("project")) ?? ofType[0];
      const body = (
        <>
          <p>
            <a href="/ui/projects">All projects</a> · {type.name} in <code>{org}</code>
          </p>
          <form method="get" class="row">
            <SelectField
              id="preview-project"
              name="project"
              label="Preview templates for project"
              options={ofType.map((p) => ({ value: p.slug, text: p.name, selected: p === chosen }))}
            />
            <button type="submit" class="secondary">Preview</button>
          </form>
        </>
      );
      return { body, project: chosen };
    },
  };
}

function projectOwner(c: Context<UiEnv>): BindingsOwner {
  const { org, id } = c.req.param() as { org: string; id: string };
  return {
    title: `Bindings of ${id}`,
    key: id,
    api: (key) => `/orgs/${seg(org)}/projects/${seg(key)}`,
    page: (key) => `/ui/orgs/${seg(org)}/projects/${seg(key)}/bindings`,
    content: async (ui, project) => {
      const tabs = await must(ui.api("GET", `/orgs/${seg(org)}/projects/${seg(id)}/tabs`));
      const body = (
        <>
          <p>
            <a href={`/ui/orgs/${seg(org)}/projects/${seg(project.slug)}`}>Project page of {project.name}</a>
          </p>
          <h2>Effective bindings</h2>
          <Effective tabs={tabs.tabs} selection={tabs.selection} org={org} />
          <h2>The project's own bindings</h2>
          <p class="help">
            They add to and override the bindings of its project types ({project.project_types.join(", ") || "none"}).
          </p>
          <input type="hidden" id="preview-project" name="project" value={project.slug} />
        </>
      );
      return { body, project };
    },
  };
}

/** The page of a project type's or a project's own bindings: what the owner shows, then the bindings editor. */
function bindingsPage(c: Context<UiEnv>, owner: BindingsOwner, failed?: { problem: Problem; bindings: Json[] }) {
  const { key } = owner;
  return renderPage(c, { title: owner.title, section: SECTION, status: failed?.problem.status ?? 200 }, async (ui) => {
    const org = c.req.param("org") ?? "";
    const [found, bound, nodes] = await Promise.all([
      must(ui.api("GET", owner.api(key))),
      must(ui.api("GET", `${owner.api(key)}/plugins`)),
      orgNodes(ui, org),
    ]);
    const { body, project } = await owner.content(ui, found);
    return (
      <>
        <Notice text={noticeText(c.req.query("notice"))} />
        {body}
        <BindingsEditor
          ui={ui}
          action={owner.page(found.slug)}
          org={org}
          bindings={failed?.bindings ?? bound.bindings}
          nodes={nodes}
          project={project}
          problem={failed?.problem}
        />
      </>
    );
  });
}

/** Saves the bindings the editor posted; a refusal shows the page again with the rows as sent. */
async function saveBindings(c: Context<UiEnv>, owner: BindingsOwner) {
  const { key } = owner;
  const rows = readBindings(await c.req.formData());
  const answer = await c.get("ui").api("PUT", `${owner.api(key)}/plugins`, { bindings: rows });
  if (answer.ok) return c.redirect(`${owner.page(key)}?notice=bound`, 303);
  return bindingsPage(c, owner, { problem: problemOf(answer), bindings: rows });
}

async function create(
  c: Context<UiEnv>,
  form: string,
  path: (org: string) => string,
  body: (v: Record<string, string>) => Json,
) {
  const values = formValues(await c.req.formData());
  const answer = await c.get("ui").api("POST", path(values.org ?? ""), body(values));
  if (answer.ok) return c.redirect("/ui/projects?notice=created", 303);
  return listPage(c, { form, problem: problemOf(answer), values }, answer.status);
}

/** The project pages, mounted under `/ui`. */
export function projectPages(): Hono<UiEnv> {
  return new Hono<UiEnv>()
    .get("/projects", (c) => listPage(c))
    .post("/orgs", (c) => create(c, "org", () => "/orgs", (v) => ({ slug: v["/slug"], name: v["/name"] })))
    .post(
      "/project-types",
      (c) =>
        create(c, "type", (org) => `/orgs/${seg(org)}/project-types`, (v) => ({ slug: v["/slug"], name: v["/name"] })),
    )
    .post("/projects", (c) =>
      create(c, "project", (org) => `/orgs/${seg(org)}/projects`, (v) => ({
        slug: v["/slug"],
        name: v["/name"],
        project_types: (v["/project_types"] ?? "").split(",").map((s) => s.trim()).filter(Boolean),
      })))
    .get("/orgs/:org/project-types/:pt", (c) => bindingsPage(c, typeOwner(c)))
    .post("/orgs/:org/project-types/:pt", (c) => saveBindings(c, typeOwner(c)))
    .get("/orgs/:org/projects/:id/bindings", (c) => bindingsPage(c, projectOwner(c)))
    .post("/orgs/:org/projects/:id/bindings", (c) => saveBindings(c, projectOwner(c)))
    .get("/orgs/:org/template-preview", async (c) => {
      const org = c.req.param("org");
      const query = c.req.queries();
      const template = Object.entries(query).find(([k]) => k.endsWith(".search_template"))?.[1]?.[0] ?? "";
      const slug = c.req.query("project");
      const project = slug ? await c.get("ui").api("GET", `/orgs/${seg(org)}/projects/${seg(slug)}`) : undefined;
      return c.html(<TemplatePreview template={template} org={org} project={project?.ok ? project.body : undefined} />);
    });
}
