/**
 * The console's form pieces: labelled fields tied to their help text and to
 * the API's errors by JSON pointer, a button that posts one action (delete,
 * reveal, roll back…), and the card that posts a form (a new record with its
 * slug and name fields), with the API's refusal shown in place.
 *
 * @module
 */

import type { JSX } from "hono/jsx/jsx-runtime";
import type { Child } from "hono/jsx";
import type { FieldError, Problem } from "./_api.ts";
import { Csrf, ProblemBox, type Ui } from "./_layout.tsx";

/**
 * The id of the input a JSON pointer names.
 *
 * @param pointer A JSON pointer (`/options/region`).
 * @returns A valid HTML id.
 */
export function fieldId(pointer: string): string {
  return `f${pointer.replace(/[^A-Za-z0-9_-]/g, (ch) => `_${ch.charCodeAt(0).toString(16)}`)}`;
}

/**
 * The field errors of a problem, by pointer.
 *
 * @param problem The problem, if any.
 * @returns Pointer to message.
 */
export function errorsByPointer(problem: Problem | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of (problem?.errors ?? []) as FieldError[]) {
    map.set(e.pointer, map.has(e.pointer) ? `${map.get(e.pointer)}; ${e.message}` : e.message);
  }
  return map;
}

/**
 * Attributes linking an input to its help text and error.
 *
 * @param id The input's id.
 * @param options Whether it has help text, and its error.
 * @returns `id`, `aria-describedby` and `aria-invalid`.
 */
export function described(
  id: string,
  options: { help?: unknown; error?: string | undefined },
): { id: string; "aria-describedby": string | undefined; "aria-invalid": "true" | undefined } {
  const ids = [options.help ? `${id}-help` : "", options.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return {
    id,
    "aria-describedby": ids || undefined,
    "aria-invalid": options.error ? "true" : undefined,
  };
}

/**
 * The help text and error below an input.
 *
 * @param props The input's id, help text and error.
 * @returns The paragraphs.
 */
export function FieldNotes(
  props: { id: string; help?: string | undefined; error?: string | undefined },
): JSX.Element | null {
  return (
    <>
      {props.help && <p class="help" id={`${props.id}-help`}>{props.help}</p>}
      {props.error && <p class="field-error" id={`${props.id}-error`}>{props.error}</p>}
    </>
  );
}

/**
 * A labelled control with its help text and error below it.
 *
 * @param props The control's id (its label's `for`), the label, help text, error, and the control.
 * @returns The field.
 * @example
 * ```tsx
 * <Field id="new-plugin" label="Add a Plugin node of entry point"><select id="new-plugin" name="plugin">…</select></Field>
 * ```
 */
export function Field(
  props: { id: string; label: Child; help?: string | undefined; error?: string | undefined; children: Child },
): JSX.Element | null {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      <FieldNotes id={props.id} help={props.help} error={props.error} />
    </div>
  );
}

/** What an {@linkcode InputField} shows and sends. */
export interface InputProps {
  /** The input's id. */
  id: string;
  /** The name it is sent under. */
  name: string;
  label: string;
  /** `text` unless given. */
  type?: string;
  value?: string | undefined;
  placeholder?: string;
  help?: string | undefined;
  error?: string | undefined;
  required?: boolean | undefined;
  autocomplete?: string | undefined;
}

/**
 * A labelled input, tied to its help text and error.
 *
 * @param props Id, name, label, type, value, placeholder, help, error, required, autocomplete.
 * @returns The field.
 */
export function InputField(props: InputProps): JSX.Element | null {
  const { id, help, error } = props;
  return (
    <Field id={id} label={props.label} help={help} error={error}>
      <input
        {...described(id, { help, error })}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        autocomplete={props.autocomplete}
      />
    </Field>
  );
}

/**
 * A labelled text input named by a JSON pointer, with the API's error for that pointer.
 *
 * @param props Pointer (names the input and its error), label, value, type, help, errors, required.
 * @returns The field.
 */
export function TextField(props: {
  pointer: string;
  label: string;
  value?: string | undefined;
  type?: string;
  help?: string;
  errors: Map<string, string>;
  required?: boolean;
  autocomplete?: string;
  /** Prefix of the input's id, when a page has several forms with the same pointers. */
  scope?: string | undefined;
}): JSX.Element | null {
  return (
    <InputField
      {...props}
      id={fieldId(`${props.scope ?? ""}${props.pointer}`)}
      name={props.pointer}
      value={props.value ?? ""}
      error={props.errors.get(props.pointer)}
    />
  );
}

/**
 * A labelled select of options.
 *
 * @param props Id, name, label, the options (value, text, whether selected), help and error.
 * @returns The field.
 */
export function SelectField(props: {
  id: string;
  name: string;
  label: string;
  options: readonly { value: string; text: Child; selected?: boolean }[];
  help?: string | undefined;
  error?: string | undefined;
}): JSX.Element | null {
  const { id, help, error } = props;
  return (
    <Field id={id} label={props.label} help={help} error={error}>
      <select {...described(id, { help, error })} name={props.name}>
        {props.options.map((o) => <option value={o.value} selected={o.selected}>{o.text}</option>)}
      </select>
    </Field>
  );
}

/**
 * The form values of a form as an object (the last value of each name).
 *
 * @param form Posted form data.
 * @returns Name to value.
 */
export function formValues(form: FormData): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [k, v] of form) if (typeof v === "string") values[k] = v;
  return values;
}

/**
 * A form that posts one action: the CSRF input, hidden fields and one button.
 * With `hx`, htmx posts it and swaps the answer in as the attributes say.
 *
 * @param props Where it posts, its class, hidden fields, htmx attributes
 *   (`hx-post` is added), the button's text, class and accessible name, and
 *   anything shown after the button.
 * @returns The form.
 * @example
 * ```tsx
 * <ActionForm ui={ui} action="/ui/plugins/remove" fields={{ package: name }} button="Remove" buttonClass="danger" />
 * ```
 */
export function ActionForm(props: {
  ui: Ui;
  action: string;
  class?: string;
  fields?: Record<string, string>;
  hx?: Record<string, string>;
  button: Child;
  buttonClass?: string;
  buttonLabel?: string;
  children?: Child;
}): JSX.Element | null {
  const hx = props.hx ? { "hx-post": props.action, ...props.hx } : {};
  return (
    <form method="post" action={props.action} {...hx} class={props.class}>
      <Csrf ui={props.ui} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => <input type="hidden" name={name} value={value} />)}
      <button type="submit" class={props.buttonClass} aria-label={props.buttonLabel}>{props.button}</button>
      {props.children}
    </form>
  );
}

/**
 * A card that posts a form (creates a record, sets a key): a heading, the
 * CSRF input, the API's refusal (field errors stay with their fields), the
 * fields and the submit button.
 *
 * @param props Where it posts, the heading (and its level), the problem
 *   and field errors of a failed attempt, the fields, the button's text.
 * @returns The form.
 */
export function FormCard(props: {
  ui: Ui;
  action: string;
  heading: string;
  level?: "h2" | "h3";
  problem?: Problem | undefined;
  errors: Map<string, string>;
  submit: string;
  children: Child;
}): JSX.Element | null {
  const Heading = props.level ?? "h2";
  return (
    <form method="post" action={props.action} class="card">
      <Heading>{props.heading}</Heading>
      <Csrf ui={props.ui} />
      <ProblemBox problem={props.problem} shown={new Set(props.errors.keys())} />
      {props.children}
      <button type="submit">{props.submit}</button>
    </form>
  );
}

/**
 * The required `/slug` and `/name` inputs of a new record.
 *
 * @param props What the record is ("Project type" labels them "Project type
 *   slug" and "Project type name"; without one, "Slug" and "Name"), the
 *   values typed before, the field errors and the id prefix of the form.
 * @returns The two fields.
 */
export function NameFields(props: {
  noun?: string;
  values: Record<string, string> | undefined;
  errors: Map<string, string>;
  scope?: string;
}): JSX.Element | null {
  const label = (word: string) => props.noun ? `${props.noun} ${word}` : word[0]!.toUpperCase() + word.slice(1);
  return (
    <>
      {(["slug", "name"] as const).map((word) => (
        <TextField
          pointer={`/${word}`}
          label={label(word)}
          value={props.values?.[`/${word}`]}
          errors={props.errors}
          scope={props.scope}
          required
        />
      ))}
    </>
  );
}
