import { describe, expect, it } from 'vitest';
import { describeCollection } from '../src/rows/collection-rows.js';

const id = { database: 'shop', name: 'orders' };
const validated = (idSchema: Record<string, unknown>) => ({
  validator: {
    $jsonSchema: {
      bsonType: 'object',
      properties: { _id: idSchema, n: { bsonType: 'int' } },
      additionalProperties: false,
    },
  },
});
const idType = (options: Record<string, unknown> | undefined) =>
  describeCollection(id, options).columns.find((c) => c.name === '_id')?.type;

// The `_id` column's kind decides what a SQL target keeps: JSON text tells `_id` 1 from '1', plain text does not.
describe('the _id column of a collection', () => {
  it('is JSON (jsonb in Postgres) where _ids of any type may meet: the document shape', () => {
    expect(idType(undefined)).toEqual({ kind: 'json', normalised: true });
  });

  it('is JSON in the fields shape when the validator allows several types or names none', () => {
    expect(idType(validated({ bsonType: ['int', 'string'] }))).toEqual({ kind: 'json', normalised: true });
    expect(idType(validated({}))).toEqual({ kind: 'json', normalised: true });
  });

  it('keeps the declared type when the validator allows one (null aside)', () => {
    expect(idType(validated({ bsonType: 'int' }))).toEqual({ kind: 'int32' });
    expect(idType(validated({ bsonType: ['string', 'null'] }))).toEqual({ kind: 'string' });
    expect(idType(validated({ bsonType: 'objectId' }))).toEqual({ kind: 'other' });
  });
});
