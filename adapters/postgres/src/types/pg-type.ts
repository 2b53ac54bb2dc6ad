/**
 * A Postgres column type as the decoder needs it, resolved from the catalog (`pg_type`): domains
 * are replaced by their base type, arrays carry their element type, enums their labels.
 */
export type PgType =
  /** A built-in or extension base type, by `pg_type.typname` (e.g. `int4`, `timestamptz`, `citext`). */
  | { readonly kind: 'base'; readonly name: string }
  | { readonly kind: 'enum'; readonly name: string; readonly labels: readonly string[] }
  | { readonly kind: 'array'; readonly name: string; readonly element: PgType; readonly delimiter: string }
  /** Ranges, multiranges, composite types, pseudo types: kept as the text Postgres prints. */
  | { readonly kind: 'other'; readonly name: string };
