/**
 * The value of a JSON column: the document's text exactly as the database gives it.
 *
 * A JSON document is not parsed into JavaScript values, because `JSON.parse` changes what the
 * document says: integers beyond 2^53 are rounded, `1e-400` becomes `0`, `1e400` becomes
 * `Infinity`, `1.10` becomes `1.1`, and a 34-digit decimal loses digits. JSON carries money and ids,
 * so Highwater carries the text. The text is what the database prints: for a column that keeps the
 * document as written (Postgres `json`, MariaDB `JSON`) that is the written text, for one that
 * stores a parsed form (Postgres `jsonb`, MySQL `JSON`) the database's own normalised text. Both
 * capture paths (snapshot and log) give the same text for the same stored document.
 *
 * A JSON `null` document is `new JsonText('null')`, distinct from SQL NULL (`null`).
 *
 * `JSON.stringify` writes a `JsonText` as a JSON string holding the text (see {@link toJSON}), as
 * Debezium writes JSON columns: exact, and distinct from SQL NULL. Parse it with the JSON library
 * your numbers need (e.g. one keeping big integers), or with {@link parse} when `JSON.parse`'s
 * numbers are good enough.
 */
export class JsonText {
  /**
   * @param text The document's JSON text. Not validated: an adapter passes what its database
   *   printed, which the database already validated.
   */
  constructor(readonly text: string) {}

  /** A document made from a JavaScript value with `JSON.stringify` (for tests and in-memory sources). */
  static stringify(value: unknown): JsonText {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`not a JSON value: ${String(value)}`);
    return new JsonText(text);
  }

  /**
   * The document parsed with `JSON.parse`: numbers become JavaScript numbers, so digits beyond what
   * a double holds are lost. Use it only where that is acceptable.
   */
  parse(): unknown {
    return JSON.parse(this.text);
  }

  /** The text, as a JSON string when the value is serialised with `JSON.stringify`. */
  toJSON(): string {
    return this.text;
  }

  toString(): string {
    return this.text;
  }
}
