/**
 * Rendering a console page or fragment: the frame, the security headers,
 * and API refusals shown in place instead of a blank page.
 *
 * @module
 */

import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { log } from "../../core/logger.ts";
import { ApiProblem, type Problem } from "./_api.ts";
import { Document, ProblemBox, type Ui, type UiEnv } from "./_layout.tsx";

/** Headers of every console response. */
export const UI_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "cache-control": "no-store",
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff",
};

function problemFrom(error: unknown, requestId: string): Problem {
  if (error instanceof ApiProblem) return error.problem;
  log.error("console page failed", { error: error instanceof Error ? error.message : String(error), requestId });
  return {
    status: 500,
    title: "Internal error",
    detail: `The console could not build this page (request ${requestId})`,
  };
}

/**
 * Renders a full page; an API refusal while building it becomes the page's
 * content, with the API's status.
 *
 * @param c The request context.
 * @param page Title and navigation section.
 * @param build Builds the body from the page context.
 * @returns The HTML response.
 */
export async function renderPage(
  c: Context<UiEnv>,
  page: { title: string; section: string; status?: number },
  build: (ui: Ui) => Promise<Child> | Child,
): Promise<Response> {
  const ui = c.get("ui");
  let body: Child;
  let status = page.status ?? 200;
  try {
    body = await build(ui);
  } catch (error) {
    const problem = problemFrom(error, c.get("requestId"));
    status = problem.status;
    body = <ProblemBox problem={problem} />;
  }
  return c.html(
    <Document title={page.title} section={page.section} ui={ui}>{body}</Document>,
    status as 200,
    UI_HEADERS,
  );
}

/**
 * Renders a fragment for htmx (a whole page for a request without htmx),
 * with refusals shown in place.
 *
 * @param c The request context.
 * @param page Title and section of the page shown without htmx.
 * @param build Builds the fragment.
 * @returns The HTML response.
 */
export async function renderPart(
  c: Context<UiEnv>,
  page: { title: string; section: string },
  build: (ui: Ui) => Promise<{ body: Child; status?: number }>,
): Promise<Response> {
  const ui = c.get("ui");
  let body: Child;
  let status = 200;
  try {
    const built = await build(ui);
    body = built.body;
    status = built.status ?? 200;
  } catch (error) {
    const problem = problemFrom(error, c.get("requestId"));
    status = problem.status;
    body = <ProblemBox problem={problem} />;
  }
  if (c.req.header("hx-request") === "true") return c.html(<>{body}</>, status as 200, UI_HEADERS);
  return c.html(
    <Document title={page.title} section={page.section} ui={ui}>{body}</Document>,
    status as 200,
    UI_HEADERS,
  );
}
