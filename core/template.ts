/**
 * `search_template` rendering (spec section 6, step 6). Placeholders are
 * checked when a binding is written, so rendering at request time cannot
 * fail on an unknown name.
 *
 * @module
 */

/** The placeholders a `search_template` may use. */
export const TEMPLATE_PLACEHOLDERS = [
  "org.slug",
  "project.id",
  "project.slug",
  "project.name",
  "environment",
] as const;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Lists the problems of a template: unknown placeholders and unbalanced braces.
 *
 * @param template The template text.
 * @returns Messages, empty when the template is fine.
 */
export function checkTemplate(template: string): string[] {
  const problems: string[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name)) {
      problems.push(
        `unknown placeholder {${name}}; allowed: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
      );
    }
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ""))) problems.push("has an unbalanced { or }");
  return problems;
}

/**
 * Renders a checked template.
 *
 * @param template The template.
 * @param values The placeholder values; `environment` may be absent (renders empty).
 * @returns The rendered text.
 * @example
 * ```ts
 * renderTemplate("/{org.slug}/{project.slug}", { "org.slug": "acme", "project.slug": "web" }); // "/acme/web"
 * ```
 */
export function renderTemplate(
  template: string,
  values: Partial<Record<(typeof TEMPLATE_PLACEHOLDERS)[number], string>>,
): string {
  return template.replace(PLACEHOLDER, (_, name: string) => values[name as keyof typeof values] ?? "");
}
