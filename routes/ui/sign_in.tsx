/**
 * The console's sign-in page and its not-found body.
 *
 * @module
 */

import type { JSX } from "hono/jsx/jsx-runtime";
import { InputField } from "./_forms.tsx";
import { Document } from "./_layout.tsx";

const TOKEN_HELP = "The admin token or a read-only token (IMBI_ADMIN_TOKEN, IMBI_READ_TOKENS). It is kept in an " +
  "encrypted, HttpOnly session cookie for 8 hours.";

/**
 * The sign-in page: a field labelled "Token" and a button "Sign in", with a
 * notice or an error above them.
 *
 * @param props What to say: `status` after signing out, `error` after a refusal.
 * @returns The document.
 */
export function signInPage(props: { error?: string; status?: string }): JSX.Element {
  return (
    <Document title="Sign in">
      {props.status && <p class="notice" role="status">{props.status}</p>}
      {props.error && <div class="problem" role="alert">{props.error}</div>}
      <form method="post" action="/ui/sign-in" class="card">
        <InputField
          id="token"
          name="token"
          label="Token"
          type="password"
          autocomplete="current-password"
          required
          help={TOKEN_HELP}
        />
        <button type="submit">Sign in</button>
      </form>
    </Document>
  );
}

/**
 * What a console path that names no page shows.
 *
 * @param path The request's path.
 * @returns The page body.
 */
export function notFoundBody(path: string): JSX.Element | null {
  return (
    <p>
      Nothing lives at <code>{path}</code>. Use the navigation above.
    </p>
  );
}
