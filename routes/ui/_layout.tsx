/**
 * The console's page frame and the small pieces every page uses: the
 * navigation, notices, problems shown in place, status badges and the CSRF
 * input. Form fields are in `_forms.tsx`.
 *
 * @module
 */

import type { JSX } from "hono/jsx/jsx-runtime";
import type { Child } from "hono/jsx";
import type { Operation } from "../_openapi.ts";
import type { Api, Problem } from "./_api.ts";
import type { Session } from "./_session.ts";

/** What a console page knows about its request. */
export interface Ui {
  /** The API as the signed-in operator. */
  api: Api;
  /** The session. */
  session: Session;
  /** True for the admin token: write controls are shown. */
  admin: boolean;
  /** The API's declaration of an operation, when it has one (`("post", "/admin/plugins")`). */
  operation(method: string, path: string): Operation | undefined;
}

/** Hono variables of the console routes. */
export type UiEnv = { Variables: { ui: Ui; requestId: string } };

const NAV = [
  ["/ui/plugins", "Plugins"],
  ["/ui/services", "Services"],
  ["/ui/projects", "Projects"],
  ["/ui/audit", "Audit"],
] as const;

const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  responseHandling: [{ code: "204", swap: false }, { code: "[2345]..", swap: true }],
});

/**
 * The HTML document around a page.
 *
 * @param props Title, the current section, the session (none on the sign-in page), the body.
 * @returns The document.
 */
export function Document(props: { title: string; section?: string; ui?: Ui; children: Child }): JSX.Element | null {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${props.title} · Imbi console`}</title>
        <link rel="stylesheet" href="/ui/assets/console.css" />
        <script src="/ui/assets/htmx.min.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <span class="brand">Imbi plugins</span>
          {props.ui && (
            <nav aria-label="Main">
              <ul>
                {NAV.map(([href, label]) => (
                  <li>
                    <a href={href} aria-current={props.section === label ? "page" : undefined}>{label}</a>
                  </li>
                ))}
                <li>
                  <a href="/docs">API documentation</a>
                </li>
              </ul>
            </nav>
          )}
          {props.ui && (
            <form method="post" action="/ui/sign-out" class="signout">
              <Csrf ui={props.ui} />
              <span>{props.ui.admin ? "Admin" : "Read-only"}</span>
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <main id="main" tabindex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
        <div id="progress" class="progress" role="status" aria-live="polite">
          <progress aria-label="Working"></progress> <span>Working… this can take a while.</span>
        </div>
      </body>
    </html>
  );
}

/**
 * The hidden CSRF input every console form carries.
 *
 * @param props The page context.
 * @returns The input.
 */
export function Csrf(props: { ui: Ui }): JSX.Element | null {
  return <input type="hidden" name="_csrf" value={props.ui.session.csrf} />;
}

/**
 * A problem the API answered, shown where the action was taken.
 *
 * @param props The problem (nothing is shown without one) and which field errors are shown elsewhere.
 * @returns An alert.
 */
export function ProblemBox(props: { problem?: Problem | undefined; shown?: Set<string> }): JSX.Element | null {
  const p = props.problem;
  if (!p) return null;
  const rest = (p.errors ?? []).filter((e) => !props.shown?.has(e.pointer));
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{p.title}</strong>: {p.detail}
      </p>
      {rest.length > 0 && (
        <ul>
          {rest.map((e) => <li>{e.pointer ? <code>{e.pointer}</code> : "request"}: {e.message}</li>)}
        </ul>
      )}
    </div>
  );
}

/**
 * A section named by its heading (`aria-labelledby`), so it is a landmark
 * screen readers list.
 *
 * @param props The heading's id and text, its level (`h2` unless given),
 *   other attributes of the section (htmx), and the content.
 * @returns The section.
 */
export function Section(
  props: { id: string; title: Child; level?: "h2" | "h3"; attrs?: Record<string, string>; children?: Child },
): JSX.Element | null {
  const Heading = props.level ?? "h2";
  return (
    <section aria-labelledby={props.id} {...props.attrs}>
      <Heading id={props.id}>{props.title}</Heading>
      {props.children}
    </section>
  );
}

/**
 * A success message after a change.
 *
 * @param props The text (nothing without one).
 * @returns A status line.
 */
export function Notice(props: { text?: string | undefined }): JSX.Element | null {
  return props.text ? <p class="notice" role="status">{props.text}</p> : null;
}

/**
 * The status of a package or entry point, with emphasis on the bad ones.
 *
 * @param props The status word.
 * @returns A badge.
 */
export function Status(props: { status: string }): JSX.Element | null {
  const bad = ["incompatible", "invalid", "failed", "partial", "not_loaded", "missing"].includes(props.status);
  return <span class={`badge ${bad ? "bad" : props.status === "loaded" ? "good" : ""}`}>{props.status}</span>;
}

const NOTICES: Record<string, string> = {
  created: "Created.",
  saved: "Saved.",
  deleted: "Deleted.",
  bound: "Bindings saved.",
};

/**
 * The notice a redirect after a change asks for (`?notice=saved`); only
 * fixed texts, so a link cannot put words on the page.
 *
 * @param key The `notice` query parameter.
 * @returns The text, or undefined.
 */
export function noticeText(key: string | undefined): string | undefined {
  return key && Object.hasOwn(NOTICES, key) ? NOTICES[key] : undefined;
}
