/**
 * The operator console's pages under `/ui/`: sign-in, the session and CSRF
 * checks, static assets, and each page group (`plugins.tsx`, `services.tsx`,
 * `projects.tsx`, `project_page.tsx`, `audit.tsx`; the sign-in page in `sign_in.tsx`). Pages call the HTTP API
 * in process with the session's token (`_api.ts`). `mod.ts` imports this module at the console's first request.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import type { Keyring } from "../../core/crypto.ts";
import type { AppEnv } from "../_deps.ts";
import type { Operation } from "../_openapi.ts";
import { apiClient } from "./_api.ts";
import { assetResponse } from "./_assets.ts";
import type { Ui, UiEnv } from "./_layout.tsx";
import { renderPage, UI_HEADERS } from "./_render.tsx";
import { notFoundBody, signInPage } from "./sign_in.tsx";
import { endSession, readSession, sameOrigin, startSession } from "./_session.ts";
import { auditPages } from "./audit.tsx";
import { pluginPages } from "./plugins.tsx";
import { projectPage } from "./project_page.tsx";
import { projectPages } from "./projects.tsx";
import { servicePages } from "./services.tsx";
import { pluginNodePages } from "./plugin_nodes.tsx";

/** What the console needs from the application. */
export interface ConsoleOptions {
  /** The service's keyring (seals session cookies). */
  keyring: Keyring;
  /** The application's own fetch: the console's API calls go through it. */
  fetch: (request: Request) => Response | Promise<Response>;
  /** The declared API operations. */
  operations: () => readonly Operation[];
  /** The clock. */
  clock: () => Date;
}

/** The console's own app: each request carries its context in the service's app, and copies its variables. */
export type ConsoleEnv = { Bindings: { parent: Context<AppEnv> }; Variables: AppEnv["Variables"] };

/**
 * The console's pages, as an app of their own that `mod.ts` hands each `/ui` request to. They see the request's
 * variables in the service's app (request id, access); their errors go on to its `onError`, and `c.notFound()` is
 * its 404.
 *
 * @param options Keyring, the app's fetch, the declared operations, the clock.
 * @returns The Hono app; serve `app.fetch(request, { parent })`.
 */
export function consoleApp(options: ConsoleOptions): Hono<ConsoleEnv> {
  const pages = new Hono<UiEnv>();
  const now = () => options.clock().getTime();

  pages.get("/ui/assets/:file", async (c) => (await assetResponse(c.req.param("file"))) ?? c.notFound());
  pages.get("/ui", (c) => c.redirect("/ui/", 302));
  pages.get("/ui/", async (c) => {
    if (await readSession(c, options.keyring, now())) return c.redirect("/ui/plugins", 303);
    const status = c.req.query("signed_out") !== undefined ? "Signed out." : undefined;
    return c.html(signInPage(status ? { status } : {}), 200, UI_HEADERS);
  });
  pages.post("/ui/sign-in", async (c) => {
    if (!sameOrigin(c)) return c.html(signInPage({ error: "Cross-site request refused." }), 403, UI_HEADERS);
    const form = await c.req.formData();
    const token = String(form.get("token") ?? "").trim();
    const origin = new URL(c.req.url).origin;
    const api = apiClient(options.fetch, { token, requestId: c.get("requestId"), origin });
    const read = token ? await api("GET", "/orgs") : { status: 401 };
    if (read.status !== 200) {
      return c.html(signInPage({ error: "Sign-in failed: the token is not valid." }), 401, UI_HEADERS);
    }
    const access = (await api("GET", "/admin/plugins")).status === 200 ? "admin" : "read";
    await startSession(c, options.keyring, { token, access, now: now() });
    return c.redirect("/ui/plugins", 303);
  });

  pages.use("/ui/*", async (c, next) => {
    const session = await readSession(c, options.keyring, now());
    if (!session) {
      if (c.req.method === "GET") return c.redirect("/ui/", 303);
      return c.html(signInPage({ error: "Your session ended; sign in again." }), 401, UI_HEADERS);
    }
    if (!["GET", "HEAD"].includes(c.req.method)) {
      const form = await c.req.formData().catch(() => new FormData());
      if (!sameOrigin(c) || form.get("_csrf") !== session.csrf) {
        return c.html(signInPage({ error: "Cross-site request refused." }), 403, UI_HEADERS);
      }
    }
    const ui: Ui = {
      api: apiClient(options.fetch, {
        token: session.token,
        requestId: c.get("requestId"),
        origin: new URL(c.req.url).origin,
      }),
      session,
      admin: session.access === "admin",
      operation: (method, path) => options.operations().find((op) => op.method === method && op.path === path),
    };
    c.set("ui", ui);
    await next();
  });
  pages.post("/ui/sign-out", (c) => {
    endSession(c);
    return c.redirect("/ui/?signed_out", 303);
  });
  pages.route("/ui", pluginPages());
  pages.route("/ui", servicePages());
  pages.route("/ui", pluginNodePages());
  pages.route("/ui", projectPages());
  pages.route("/ui", projectPage());
  pages.route("/ui", auditPages());
  pages.all(
    "/ui/*",
    (c) => renderPage(c, { title: "Not found", section: "", status: 404 }, () => notFoundBody(c.req.path)),
  );
  const app = new Hono<ConsoleEnv>();
  app.use(async (c, next) => {
    const parent = c.env.parent.var;
    for (const name of Object.keys(parent) as (keyof typeof parent)[]) c.set(name, parent[name] as never);
    await next();
  });
  app.route("/", pages as unknown as Hono<ConsoleEnv>);
  app.notFound((c) => c.env.parent.notFound());
  app.onError((error) => {
    throw error;
  });
  return app;
}
