/**
 * The Audit page: the shared audit log, newest first, as `GET /admin/audit`
 * answers it (who, what, on which target, from which replica and request,
 * and what changed), filtered by target kind or target, paged by `before`.
 *
 * @module
 */

import { Hono } from "hono";
import { must } from "./_api.ts";
import { InputField } from "./_forms.tsx";
import type { UiEnv } from "./_layout.tsx";
import { renderPage } from "./_render.tsx";
import { Table } from "./_table.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

/** The filters of the audit log: query parameter, label, placeholder. */
const FILTERS = [
  ["target_kind", "Target kind", "plugin, bindings, package…"],
  ["target", "Target", "acme/demo/config"],
] as const;

function show(value: unknown): string {
  return value === null || value === undefined ? "—" : JSON.stringify(value, null, 2);
}

/** The audit page, mounted under `/ui`. */
export function auditPages(): Hono<UiEnv> {
  return new Hono<UiEnv>().get("/audit", (c) =>
    renderPage(c, { title: "Audit", section: "Audit" }, async (ui) => {
      if (!ui.admin) {
        return <p>The audit log needs the admin token; this session signed in with a read-only token.</p>;
      }
      const query = new URLSearchParams({ limit: "50" });
      for (const name of [...FILTERS.map(([filter]) => filter), "before"]) {
        const value = c.req.query(name);
        if (value) query.set(name, value);
      }
      const page = await must(ui.api("GET", `/admin/audit?${query}`));
      const next = new URLSearchParams(query);
      next.delete("limit");
      if (page.next !== undefined && page.next !== null) next.set("before", String(page.next));
      return (
        <>
          <form method="get" action="/ui/audit" class="row card">
            {FILTERS.map(([name, label, placeholder]) => (
              <InputField
                id={name}
                name={name}
                label={label}
                value={c.req.query(name) ?? ""}
                placeholder={placeholder}
              />
            ))}
            <button type="submit">Filter</button>
          </form>
          <Table
            caption="Audit records, newest first"
            rows={page.items as Json[]}
            columns={[
              { header: "When", cell: (r) => r.at ?? "—" },
              { header: "Who", cell: (r) => r.actor ?? "—" },
              { header: "Action", cell: (r) => <code>{r.action ?? "—"}</code> },
              {
                header: "Target",
                cell: (r) => (
                  <>
                    {r.target_kind ?? ""} <code>{r.target ?? r.package ?? ""}</code>
                  </>
                ),
              },
              {
                header: "Replica and request",
                cell: (r) => (
                  <>
                    {r.replica ?? "—"} <code>{r.request_id ?? ""}</code>
                  </>
                ),
              },
              {
                header: "Change",
                cell: (r) => (
                  <details>
                    <summary>From and to</summary>
                    <pre>{`from: ${show(r.from)}\nto: ${show(r.to)}${r.detail && Object.keys(r.detail).length ? `\ndetail: ${show(r.detail)}` : ""}`}</pre>
                  </details>
                ),
              },
            ]}
          />
          {(page.items as Json[]).length === 0 && <p>No audit records match.</p>}
          {next.has("before") && (
            <p>
              <a href={`/ui/audit?${next}`}>Older records</a>
            </p>
          )}
        </>
      );
    }));
}
