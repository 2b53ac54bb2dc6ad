import type { Row, Value } from './value.js';

/** Builds a row from values given in a fixed column order. */
export type RowBuilder = (values: readonly Value[]) => Row;

/**
 * A row builder for fixed column names, for chunk readers that decode values column by column.
 *
 * It compiles one constructor per table (`new Function`), so V8 builds every row of the table with
 * one hidden class in one allocation, instead of growing each row through one keyed store per
 * column; rows of one shape keep the code that reads them monomorphic. A constructor rather than
 * an object literal: V8 watches how long the objects of each literal live, and once most of them
 * outlive a young-generation collection (the rows of a chunk do, while it is merged and emitted) it
 * allocates all later ones in the old generation, where dead rows then hold their values until a
 * full collection. Objects made with `new` are not watched. The constructor's `prototype` is
 * `Object.prototype`, so rows are plain objects. Measured in the Postgres snapshot benchmark (see
 * docs/benchmarks.md).
 *
 * Column names go into the code only as JSON string keys, so no name can inject code. Names an
 * assignment would not store as a plain own property (`__proto__` sets the prototype instead),
 * and lists with a repeated name, fall back to a loop that defines each column as an own property
 * in turn (the last value of a repeated name wins).
 */
export function createRowBuilder(columns: readonly string[]): RowBuilder {
  if (columns.includes('__proto__') || new Set(columns).size !== columns.length) {
    return (values) => {
      const row: Record<string, Value> = {};
      // defineProperty: an assignment to `__proto__` would set the prototype and lose the column.
      for (let i = 0; i < columns.length; i++) {
        const value = values[i] ?? null;
        Object.defineProperty(row, columns[i] as string, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return row;
    };
  }
  const body = columns.map((c, i) => `this[${JSON.stringify(c)}] = v[${i}];`).join('\n');
  const PlainRow = new Function('v', body) as unknown as new (values: readonly Value[]) => Row;
  PlainRow.prototype = Object.prototype;
  return (values) => new PlainRow(values);
}
