/**
 * Forms generated from a manifest's options JSON Schema, and the JSON read
 * back from what the browser posts. Each input is named by the JSON pointer
 * of its value in the API request body, so the API's validation errors land
 * next to the field they name.
 *
 * Strings, numbers and integers are inputs; `enum` is a select; booleans are
 * checkboxes; arrays of strings or numbers take one item per line (arrays of
 * enum values are checkbox groups); objects with `properties` are fieldsets;
 * string maps (`additionalProperties` only) take `NAME=value` lines; anything
 * else is JSON in a text area. `writeOnly` strings are password inputs, never
 * prefilled; left empty they keep the stored value. Defaults prefill an
 * absent value; descriptions are help text.
 *
 * @module
 */

import type { JSX } from "hono/jsx/jsx-runtime";
import type { FieldError } from "./_api.ts";
import { described, fieldId, FieldNotes } from "./_forms.tsx";

/** The subset of JSON Schema the generator reads. */
export interface JsonSchema {
  /** JSON type (or types). */
  type?: string | string[];
  /** Display title. */
  title?: string;
  /** Help text. */
  description?: string;
  /** Whether it is the tab's default. */
  default?: unknown;
  /** Allowed values. */
  enum?: unknown[];
  /** The only allowed value. */
  const?: unknown;
  /** A secret: never shown, kept when left out. */
  writeOnly?: boolean;
  /** String format. */
  format?: string;
  /** Lowest number. */
  minimum?: number;
  /** Highest number. */
  maximum?: number;
  /** An object's fields. */
  properties?: Record<string, JsonSchema>;
  /** Required field names (or whether a credential field is required). */
  required?: string[];
  /** An array's item schema. */
  items?: JsonSchema;
  /** Fields beyond `properties`. */
  additionalProperties?: boolean | JsonSchema;
}

type Kind =
  | "string"
  | "number"
  | "integer"
  | "boolean"
  | "enum"
  | "secret"
  | "list"
  | "choices"
  | "object"
  | "map"
  | "json";

function typeOf(schema: JsonSchema): string | undefined {
  const t = Array.isArray(schema.type) ? schema.type.find((x) => x !== "null") : schema.type;
  return t ?? (schema.properties ? "object" : undefined);
}

function kindOf(schema: JsonSchema): Kind {
  if (schema.enum) return "enum";
  const t = typeOf(schema);
  if (t === "string") return schema.writeOnly ? "secret" : "string";
  if (t === "number" || t === "integer" || t === "boolean") return t;
  if (t === "array") {
    if (schema.items?.enum) return "choices";
    const it = schema.items ? typeOf(schema.items) : undefined;
    return it === "string" || it === "number" || it === "integer" ? "list" : "json";
  }
  if (t === "object") {
    if (schema.properties) return "object";
    const extra = schema.additionalProperties;
    if (typeof extra === "object" && typeOf(extra) === "string") return "map";
  }
  return "json";
}

const join = (pointer: string, name: string) => `${pointer}/${name.replaceAll("~", "~0").replaceAll("/", "~1")}`;

function labelOf(name: string, schema: JsonSchema): string {
  return schema.title ?? name.replaceAll("_", " ");
}

function display(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

/**
 * The fields of an object schema.
 *
 * @param props The schema, the current value, the pointer of the object in the request body, and errors by pointer.
 * @returns One field per property.
 */
export function SchemaFields(
  props: { schema: JsonSchema; value: unknown; pointer: string; errors: Map<string, string> },
): JSX.Element | null {
  const value = (props.value && typeof props.value === "object" ? props.value : {}) as Record<string, unknown>;
  const properties = Object.entries(props.schema.properties ?? {});
  if (properties.length === 0) return <p class="help">This entry point takes no options.</p>;
  return (
    <>
      {properties.map(([name, schema]) => (
        <SchemaField
          name={name}
          schema={schema}
          value={value[name]}
          pointer={join(props.pointer, name)}
          errors={props.errors}
          required={props.schema.required?.includes(name) ?? false}
        />
      ))}
    </>
  );
}

function SchemaField(
  props: {
    name: string;
    schema: JsonSchema;
    value: unknown;
    pointer: string;
    errors: Map<string, string>;
    required: boolean;
  },
) {
  const { schema, pointer } = props;
  const kind = kindOf(schema);
  const id = fieldId(pointer);
  const error = props.errors.get(pointer);
  const help = schema.description;
  const value = props.value === undefined && kind !== "secret" ? schema.default : props.value;
  const label = `${labelOf(props.name, schema)}${props.required ? " (required)" : ""}`;
  const attrs = { ...described(id, { help, error }), name: pointer };
  if (kind === "object") {
    return (
      <fieldset class="nested">
        <legend>{label}</legend>
        {help && <p class="help" id={`${id}-help`}>{help}</p>}
        {error && <p class="field-error" id={`${id}-error`}>{error}</p>}
        <SchemaFields schema={schema} value={value} pointer={pointer} errors={props.errors} />
      </fieldset>
    );
  }
  if (kind === "boolean") {
    return (
      <div class="field check">
        <input {...attrs} type="checkbox" value="true" checked={value === true} />
        <label for={id}>{label}</label>
        <FieldNotes id={id} help={help} error={error} />
      </div>
    );
  }
  if (kind === "choices") {
    const chosen = Array.isArray(value) ? value : [];
    return (
      <fieldset class="field" aria-describedby={described(id, { help, error })["aria-describedby"]}>
        <legend>{label}</legend>
        {schema.items!.enum!.map((option, i) => (
          <div class="check">
            <input
              type="checkbox"
              id={`${id}-${i}`}
              name={pointer}
              value={String(option)}
              checked={chosen.includes(option)}
            />
            <label for={`${id}-${i}`}>{String(option)}</label>
          </div>
        ))}
        <FieldNotes id={id} help={help} error={error} />
      </fieldset>
    );
  }
  let input;
  if (kind === "enum") {
    input = (
      <select {...attrs}>
        {!props.required && <option value="">(not set)</option>}
        {schema.enum!.map((option) => (
          <option value={JSON.stringify(option)} selected={option === value}>{String(option)}</option>
        ))}
      </select>
    );
  } else if (kind === "secret") {
    const set = value && typeof value === "object" && (value as { set?: boolean }).set === true;
    input = (
      <input {...attrs} type="password" value="" autocomplete="new-password" placeholder={set ? "set" : "not set"} />
    );
  } else if (kind === "list" || kind === "map" || kind === "json") {
    const text = kind === "list"
      ? (Array.isArray(value) ? value.map(display).join("\n") : "")
      : kind === "map"
      ? Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => `${k}=${display(v)}`).join("\n")
      : value === undefined
      ? ""
      : JSON.stringify(value, null, 2);
    input = <textarea {...attrs} rows={4}>{text}</textarea>;
  } else {
    const numeric = kind === "number" || kind === "integer";
    input = (
      <input
        {...attrs}
        type={numeric ? "number" : "text"}
        step={kind === "integer" ? "1" : numeric ? "any" : undefined}
        min={schema.minimum}
        max={schema.maximum}
        value={display(value)}
        required={props.required}
      />
    );
  }
  const hint = kind === "list"
    ? "One item per line."
    : kind === "map"
    ? "One NAME=value per line."
    : kind === "json"
    ? "JSON."
    : kind === "secret"
    ? `Secret: ${
      value && typeof value === "object" ? "set" : "not set"
    }. Never shown; leave empty to keep the stored value.`
    : undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {input}
      <FieldNotes id={id} help={[help, hint].filter(Boolean).join(" ") || undefined} error={error} />
    </div>
  );
}

/**
 * Reads an object schema's value back from posted form data.
 *
 * @param schema The object schema.
 * @param form The posted form.
 * @param pointer The object's pointer in the request body (its inputs' name prefix).
 * @returns The value, and errors for inputs that could not be read (bad JSON, not a number).
 */
export function readSchemaForm(
  schema: JsonSchema,
  form: FormData,
  pointer: string,
): { value: Record<string, unknown>; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const value: Record<string, unknown> = {};
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const p = join(pointer, name);
    const read = readOne(sub, form, p, errors);
    if (read !== undefined) value[name] = read;
  }
  return { value, errors };
}

function readOne(schema: JsonSchema, form: FormData, pointer: string, errors: FieldError[]): unknown {
  const kind = kindOf(schema);
  const raw = form.get(pointer);
  const text = typeof raw === "string" ? raw : "";
  switch (kind) {
    case "object":
      return readSchemaForm(schema, form, pointer).value;
    case "boolean":
      return text === "true";
    case "choices":
      return form.getAll(pointer).map(String).map((s) => schema.items!.enum!.find((e) => String(e) === s) ?? s);
    case "enum":
      return text === "" ? undefined : JSON.parse(text);
    case "secret":
    case "string":
      return text === "" ? undefined : text;
    case "number":
    case "integer": {
      if (text.trim() === "") return undefined;
      const n = Number(text);
      if (Number.isNaN(n)) errors.push({ pointer, message: "must be a number" });
      return n;
    }
    case "list": {
      const items = text.split("\n").map((s) => s.trim()).filter(Boolean);
      const numeric = typeOf(schema.items!) !== "string";
      return numeric ? items.map(Number) : items;
    }
    case "map": {
      const map: Record<string, string> = {};
      for (const line of text.split("\n").map((s) => s.trim()).filter(Boolean)) {
        const eq = line.indexOf("=");
        if (eq < 1) {
          errors.push({ pointer, message: `"${line}" is not NAME=value` });
          continue;
        }
        map[line.slice(0, eq).trim()] = line.slice(eq + 1);
      }
      return map;
    }
    default: {
      if (text.trim() === "") return undefined;
      try {
        return JSON.parse(text);
      } catch {
        errors.push({ pointer, message: "must be valid JSON" });
        return undefined;
      }
    }
  }
}
