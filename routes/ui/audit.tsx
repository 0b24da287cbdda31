/**
 * The Audit page: every package change and every graph write, newest first,
 * as the API records them (who, what, when, request, replica).
 *
 * @module
 */

import { Hono } from "hono";
import { must } from "./_api.ts";
import type { UiEnv } from "./_layout.tsx";
import { renderPage } from "./_render.tsx";

// deno-lint-ignore no-explicit-any
type Json = any;

function describe(record: Json): string {
  const parts = [record.summary, record.action, record.kind, record.resource, record.package, record.path]
    .filter((p) => typeof p === "string" && p);
  return parts.length ? [...new Set(parts)].join(" · ") : JSON.stringify(record);
}

/** The audit page, mounted under `/ui`. */
export function auditPages(): Hono<UiEnv> {
  return new Hono<UiEnv>().get("/audit", (c) =>
    renderPage(c, { title: "Audit", section: "Audit" }, async (ui) => {
      if (!ui.admin) {
        return <p>The audit log needs the admin token; this session signed in with a read-only token.</p>;
      }
      const { items } = await must(ui.api("GET", "/admin/audit"));
      return (
        <table>
          <caption class="visually-hidden">Audit records, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Request</th>
            </tr>
          </thead>
          <tbody>
            {(items as Json[]).map((r) => (
              <tr>
                <td>{r.at ?? r.written_at ?? r.time ?? "—"}</td>
                <td>{r.actor ?? r.by ?? r.written_by ?? "—"}</td>
                <td>{describe(r)}</td>
                <td>
                  <code>{r.request_id ?? "—"}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      );
    }));
}
