/**
 * The Audit page: the shared audit log, newest first, as `GET /admin/audit`
 * answers it (who, what, on which target, from which replica and request,
 * and what changed), filtered by target kind or target, paged by `before`.
 *
 * @module
 */

import { Hono } from "hono";
import { must } from "./_api.ts";
import type { UiEnv } from "./_layout.tsx";
import { renderPage } from "./_render.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

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
      for (const name of ["target_kind", "target", "before"]) {
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
            <div class="field">
              <label for="target_kind">Target kind</label>
              <input
                id="target_kind"
                name="target_kind"
                type="text"
                value={c.req.query("target_kind") ?? ""}
                placeholder="plugin, bindings, package…"
              />
            </div>
            <div class="field">
              <label for="target">Target</label>
              <input
                id="target"
                name="target"
                type="text"
                value={c.req.query("target") ?? ""}
                placeholder="acme/demo/config"
              />
            </div>
            <button type="submit">Filter</button>
          </form>
          <table>
            <caption class="visually-hidden">Audit records, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Replica and request</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {(page.items as Json[]).map((r) => (
                <tr>
                  <td>{r.at ?? "—"}</td>
                  <td>{r.actor ?? "—"}</td>
                  <td>
                    <code>{r.action ?? "—"}</code>
                  </td>
                  <td>
                    {r.target_kind ?? ""} <code>{r.target ?? r.package ?? ""}</code>
                  </td>
                  <td>
                    {r.replica ?? "—"} <code>{r.request_id ?? ""}</code>
                  </td>
                  <td>
                    <details>
                      <summary>From and to</summary>
                      <pre>{`from: ${show(r.from)}\nto: ${show(r.to)}${r.detail && Object.keys(r.detail).length ? `\ndetail: ${show(r.detail)}` : ""}`}</pre>
                    </details>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
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
