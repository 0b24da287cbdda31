/**
 * The bindings editor of a project type or a project: per tab, each binding
 * with its Plugin node, default flag and `search_template` (placeholders
 * listed, a preview rendered for one project with the same function tab
 * requests use), saved in one `PUT` of the whole list. The API's errors
 * (`/bindings/<i>/<field>`) appear on the row they name.
 *
 * @module
 */

import type { JSX } from "hono/jsx/jsx-runtime";
import { checkTemplate, renderTemplate, TEMPLATE_PLACEHOLDERS } from "../../core/template.ts";
import type { Problem } from "./_api.ts";
import { described, errorsByPointer, fieldId, FieldNotes } from "./_forms.tsx";
import { Csrf, ProblemBox, type Ui } from "./_layout.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

/** One binding as the API takes it. */
export interface BindingRow {
  /** The Plugin node's id. */
  plugin_id: string;
  /** `configuration` or `logs`. */
  tab: string;
  /** Whether it is the tab's default. */
  default: boolean;
  /** The template rendered into the call's search path. */
  search_template: string;
}

const TABS = ["configuration", "logs"] as const;

/** The project a template preview is rendered for. */
export interface PreviewProject {
  /** The project's id. */
  id: string;
  /** The slug. */
  slug: string;
  /** The name. */
  name: string;
}

/**
 * A template's preview for a project, or the template's problems.
 *
 * @param props The template, the org, the project.
 * @returns The preview line.
 */
export function TemplatePreview(
  props: { template: string; org: string; project?: PreviewProject | undefined },
): JSX.Element | null {
  const problems = checkTemplate(props.template);
  if (problems.length) return <span class="field-error">{problems.join("; ")}</span>;
  if (!props.project) return <span class="help">No project to preview with.</span>;
  const rendered = renderTemplate(props.template, {
    "org.slug": props.org,
    "project.id": props.project.id,
    "project.slug": props.project.slug,
    "project.name": props.project.name,
  });
  return (
    <span>
      For <code>{props.project.slug}</code>: <code>{rendered === "" ? "(empty)" : rendered}</code>
    </span>
  );
}

/**
 * Reads the editor's rows from a posted form, in order, skipping removed and empty ones.
 *
 * @param form The posted form.
 * @returns The bindings to PUT.
 */
export function readBindings(form: FormData): BindingRow[] {
  const rows: BindingRow[] = [];
  const count = Number(form.get("rows") ?? 0);
  for (let i = 0; i < count; i++) {
    const id = String(form.get(`row${i}.plugin_id`) ?? "");
    if (!id || form.get(`row${i}.remove`) === "true") continue;
    rows.push({
      plugin_id: id,
      tab: String(form.get(`row${i}.tab`) ?? ""),
      default: form.get(`row${i}.default`) === "true",
      search_template: String(form.get(`row${i}.search_template`) ?? ""),
    });
  }
  return rows;
}

/**
 * The editor.
 *
 * @param props Where it posts, the current bindings, the org's Plugin nodes, the preview project, a failed save.
 * @returns The form.
 */
export function BindingsEditor(props: {
  ui: Ui;
  action: string;
  org: string;
  bindings: BindingRow[];
  nodes: Json[];
  project?: PreviewProject | undefined;
  problem?: Problem | undefined;
}): JSX.Element | null {
  const errors = errorsByPointer(props.problem);
  const rows: (BindingRow & { index: number })[] = props.bindings.map((b, index) => ({ ...b, index }));
  for (const tab of TABS) {
    rows.push({ plugin_id: "", tab, default: false, search_template: "", index: -1 });
  }
  const shown = new Set([...errors.keys()].filter((p) => p.startsWith("/bindings/")));
  const nodeName = new Map<string, string>(props.nodes.map((n) => [n.id, `${n.service}/${n.slug} (${n.plugin})`]));
  const readOnly = !props.ui.admin;
  const inner = (
    <>
      {!readOnly && <Csrf ui={props.ui} />}
      <input type="hidden" name="rows" value={String(rows.length)} />
      <ProblemBox problem={props.problem} shown={shown} />
      <p class="help">
        Placeholders for <code>search_template</code>: {TEMPLATE_PLACEHOLDERS.map((p) => <code>{`{${p}}`}</code>)}
      </p>
      {TABS.map((tab) => (
        <fieldset>
          <legend>Tab {tab}</legend>
          <table>
            <thead>
              <tr>
                <th scope="col">Plugin node</th>
                <th scope="col">Default</th>
                <th scope="col">search_template and preview</th>
                {!readOnly && <th scope="col">Remove</th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => {
                if (row.tab !== tab || (readOnly && row.index < 0)) return null;
                const at = (field: string) => `/bindings/${row.index}/${field}`;
                const rowError = errors.get(`/bindings/${row.index}`);
                const idErr = errors.get(at("plugin_id"));
                const tplErr = errors.get(at("search_template"));
                const defErr = errors.get(at("default"));
                const label = row.index < 0 ? `New ${tab} binding` : `${tab} binding ${row.index + 1}`;
                const tplId = fieldId(`/row${i}/search_template`);
                const nodeId = fieldId(`/row${i}/plugin_id`);
                const candidates = props.nodes.filter((n) => n.plugin_type === tab || n.id === row.plugin_id);
                return (
                  <tr>
                    <td>
                      <input type="hidden" name={`row${i}.tab`} value={tab} />
                      <label for={nodeId} class="visually-hidden">{`Plugin node of ${label}`}</label>
                      <select
                        {...described(nodeId, { error: idErr ?? rowError })}
                        name={`row${i}.plugin_id`}
                        disabled={readOnly}
                      >
                        <option value="">{row.index < 0 ? "(add a binding)" : "(none)"}</option>
                        {candidates.map((n) => (
                          <option value={n.id} selected={n.id === row.plugin_id}>{nodeName.get(n.id)}</option>
                        ))}
                        {row.plugin_id && !nodeName.has(row.plugin_id) && (
                          <option value={row.plugin_id} selected>{row.plugin_id} (unknown)</option>
                        )}
                      </select>
                      <FieldNotes id={nodeId} error={idErr ?? rowError} />
                    </td>
                    <td>
                      <input
                        type="checkbox"
                        id={`${nodeId}-default`}
                        name={`row${i}.default`}
                        value="true"
                        checked={row.default}
                        disabled={readOnly}
                        aria-label={`Default for ${label}`}
                      />
                      <FieldNotes id={`${nodeId}-default`} error={defErr} />
                    </td>
                    <td>
                      <label for={tplId} class="visually-hidden">{`search_template of ${label}`}</label>
                      <input
                        {...described(tplId, { help: true, error: tplErr })}
                        type="text"
                        name={`row${i}.search_template`}
                        value={row.search_template}
                        readonly={readOnly}
                        hx-get={`/ui/orgs/${encodeURIComponent(props.org)}/template-preview`}
                        hx-trigger="input changed delay:300ms"
                        hx-target={`#${tplId}-help`}
                        hx-include="#preview-project"
                      />
                      <p class="help" id={`${tplId}-help`} aria-live="polite">
                        <TemplatePreview template={row.search_template} org={props.org} project={props.project} />
                      </p>
                      {tplErr && <p class="field-error" id={`${tplId}-error`}>{tplErr}</p>}
                    </td>
                    {!readOnly && (
                      <td>
                        {row.index >= 0 && (
                          <input
                            type="checkbox"
                            name={`row${i}.remove`}
                            value="true"
                            aria-label={`Remove ${label}`}
                          />
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </fieldset>
      ))}
      {!readOnly && <button type="submit">Save bindings</button>}
    </>
  );
  return readOnly ? <div class="card">{inner}</div> : (
    <form method="post" action={props.action} class="card">
      {inner}
    </form>
  );
}
