/**
 * The console's one table: header cells from column definitions, one row per
 * item, an optional visually hidden caption and a class for bad rows.
 *
 * @module
 */

import type { JSX } from "hono/jsx/jsx-runtime";
import type { Child } from "hono/jsx";

/** One column of a {@linkcode Table}: its header and what a row shows in it. */
export interface Column<T> {
  /** The header cell's text. */
  header: string;
  /** The row's cell content. */
  cell: (row: T) => Child;
  /** The cell's id, when a fragment replaces its content. */
  id?: (row: T) => string;
}

/**
 * A table with a header row (`<th scope="col">`) and a row per item.
 *
 * @param props The columns (a `false` entry is left out, for columns only an
 *   admin sees), the rows, a caption for screen readers, and the class of a
 *   row (`"bad"` highlights it).
 * @returns The table.
 * @example
 * ```tsx
 * <Table rows={services} columns={[{ header: "Vendor", cell: (s) => s.vendor ?? "—" }]} />
 * ```
 */
export function Table<T>(props: {
  columns: (Column<T> | false)[];
  rows: readonly T[];
  caption?: string;
  rowClass?: (row: T) => string | undefined;
}): JSX.Element | null {
  const columns = props.columns.filter((c): c is Column<T> => c !== false);
  return (
    <table>
      {props.caption && <caption class="visually-hidden">{props.caption}</caption>}
      <thead>
        <tr>
          {columns.map((c) => <th scope="col">{c.header}</th>)}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr class={props.rowClass?.(row)}>
            {columns.map((c) => <td id={c.id?.(row)}>{c.cell(row)}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
