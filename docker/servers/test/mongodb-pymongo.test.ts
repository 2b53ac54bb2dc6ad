import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MongoSimulator, startMongoSimulator } from '../src/index.js';

// Debian's python3-pymongo installs for the system interpreter, not for whatever python3 comes first on PATH.
const PYTHON = '/usr/bin/python3';

function pymongoVersion(): string | undefined {
  try {
    return execFileSync(PYTHON, ['-c', 'import pymongo; print(pymongo.version)'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const version = pymongoVersion();

// A second, independent client drives the simulator: handshake, CRUD, a change stream resumed from its token, and a
// transaction. Skipped (with this reason) where python3-pymongo is not installed; .ci/run installs it.
describe.skipIf(version === undefined)(
  'MongoDB simulator through pymongo (python3-pymongo not installed: skipped)',
  () => {
    let simulator: MongoSimulator;
    beforeAll(async () => {
      simulator = await startMongoSimulator();
    });
    afterAll(async () => {
      await simulator?.close();
    });

    /** Runs a script of this folder with pymongo against the simulator; its last line of output, parsed. */
    const runScript = async (name: string): Promise<Record<string, unknown>> => {
      const script = fileURLToPath(new URL(`./${name}`, import.meta.url));
      const output = await new Promise<string>((resolve, reject) => {
        execFile(PYTHON, [script, simulator.url], { timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) =>
          error === null
            ? resolve(stdout)
            : reject(new Error(`pymongo script ${name} failed: ${stderr || error.message}`)),
        );
      });
      return JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
    };

    it(`handshakes, writes, reads, streams changes and resumes (pymongo ${version})`, async () => {
      const results = await runScript('mongodb-pymongo-smoke.py');
      expect(results).toEqual({
        setName: 'rs0',
        simulator: expect.stringMatching(/simulator/),
        docs: [
          { name: 'ada', age: 36, tags: ['math'] },
          { name: 'cy', n: 1099511627776 },
        ],
        count: 2,
        n: '1099511627776',
        generatedId: true,
        firstEvent: 'insert',
        resumedEvent: ['update', { x: 1 }],
        committed: true,
      });
    });

    // What the adapter depends on, seen by pymongo through raw commands, against what the MongoDB manual documents
    // (the expectations are written from the manual, not from the simulator's code).
    it(`agrees with the manual on change events, images, resume tokens, splitVector and BSON order (pymongo ${version})`, async () => {
      const seen = await runScript('mongodb-pymongo-behaviours.py');
      // Change events (manual, reference/change-events/insert, update, replace, delete): _id (the resume token),
      // operationType, clusterTime, wallTime (6.0+), ns, documentKey; fullDocument for inserts and replaces and,
      // with fullDocument 'required', updates; fullDocumentBeforeChange with 'required' on a collection whose
      // changeStreamPreAndPostImages is enabled (manual, changeStreams "Change Streams with Document Pre- and
      // Post-Images"); updateDescription on updates only.
      expect(seen.eventTypes).toEqual(['insert', 'update', 'update', 'replace', 'delete']);
      const base = ['_id', 'clusterTime', 'documentKey', 'ns', 'operationType', 'wallTime'];
      expect(seen.eventFields).toEqual([
        [...base, 'fullDocument'].sort(),
        [...base, 'fullDocument', 'fullDocumentBeforeChange', 'updateDescription'].sort(),
        [...base, 'fullDocument', 'fullDocumentBeforeChange', 'updateDescription'].sort(),
        [...base, 'fullDocument', 'fullDocumentBeforeChange'].sort(),
        [...base, 'fullDocumentBeforeChange'].sort(),
      ]);
      expect(seen.ns).toEqual({ db: 'behaviours', coll: 'people' });
      expect(seen.documentKey).toEqual({ _id: 1 });
      expect(seen.clusterTimeIsTimestamp).toBe(true);
      expect(seen.wallTimeIsDate).toBe(true);
      // Resume tokens (manual, changeStreams "Resume Tokens"): a document with one field `_data`, a hex string
      // (4.2+), ordered as the events are.
      expect(seen.tokenForms).toEqual(Array(5).fill(['_data']));
      expect(seen.tokensHex).toBe(true);
      expect(seen.tokensIncrease).toBe(true);
      // updateDescription (manual, change-events/update): dotted paths of set fields, removed fields, and arrays
      // that a pipeline-style update truncated as { field, newSize } (Int32).
      expect(seen.updateDescription).toEqual({
        updatedFields: { email: 'ada@example.org', 'addr.city': 'y' },
        removedFields: ['phone'],
        truncatedArrays: [],
      });
      expect(seen.pipelineUpdateDescription).toEqual({
        updatedFields: {},
        removedFields: [],
        truncatedArrays: [{ field: 'tags', newSize: { $numberInt: '2' } }],
      });
      // Images: each event's before and after, exactly (Int32 `_id` kept as Int32).
      const id = { $numberInt: '1' };
      const inserted = { _id: id, name: 'ada', phone: '555', tags: ['a', 'b', 'c', 'd'], addr: { city: 'x' } };
      const updated = {
        _id: id,
        name: 'ada',
        tags: ['a', 'b', 'c', 'd'],
        addr: { city: 'y' },
        email: 'ada@example.org',
      };
      const truncated = { ...updated, tags: ['a', 'b'] };
      const replaced = { _id: id, name: 'ada lovelace' };
      expect(seen.images).toEqual({
        insert: { before: null, after: inserted },
        update: { before: updated, after: truncated },
        replace: { before: truncated, after: replaced },
        delete: { before: replaced, after: null },
      });
      // 'required' where the collection keeps no images fails the stream; 'whenAvailable' gives null instead
      // (manual, $changeStream fullDocumentBeforeChange).
      expect(seen.requiredWithoutImages).toBe('error');
      expect(seen.whenAvailableWithoutImages).toBeNull();
      // The post-batch resume token (manual, changeStreams "Resume Tokens from aggregate and getMore"): an empty
      // batch still carries one, past the oplog entries the stream filtered out.
      expect(seen.quietBatch).toBe(0);
      expect(seen.pbrtAdvancesWhenQuiet).toBe(true);
      // resumeAfter / startAfter an event: the events after it; startAtOperationTime: from that time, inclusive.
      expect(seen.resumeAfter).toEqual([3]);
      expect(seen.startAfter).toEqual([3]);
      expect(seen.startAtOperationTime).toEqual([3]);
      // splitVector (manual, reference/command/splitVector; the server's split_vector.cpp): nothing when the
      // collection is smaller than one chunk; else keyCount = maxChunkSizeBytes / (2 × average document size)
      // keys per chunk, splitting on the (keyCount+1)-th key of each. 1000 documents of 104 bytes, 20000 bytes:
      // keyCount 96, split keys at 96, 193, 290, …
      expect(seen.sized).toEqual({ count: 1000, size: 104_000 });
      expect(seen.splitWhenSmallerThanOneChunk).toBe(0);
      expect(seen.splitKeyShape).toEqual(['_id']);
      expect(seen.splitKeys).toEqual(Array.from({ length: 10 }, (_, i) => 96 + 97 * i));
      // BSON comparison order (manual, reference/bson-type-comparison-order): MinKey, Null, numbers (compared by
      // value across int, long, double, decimal), strings (binary), objects, BinData (by length, then subtype,
      // then bytes), ObjectId, booleans (false first), Date, Timestamp, regular expressions, MaxKey.
      const ascending = [
        'minKey',
        'null',
        'double',
        'int',
        'decimal',
        'long',
        'stringA10',
        'stringA9',
        'stringB',
        'object',
        'binShort',
        'binShortSubtype5',
        'binLong',
        'objectId',
        'false',
        'true',
        'date',
        'timestamp',
        'regex',
        'maxKey',
      ];
      expect(seen.sortById).toEqual(ascending);
      expect(seen.sortByIdDescending).toEqual([...ascending].reverse());
      // Index bounds (cursor.min/max with a hint) span types in that order; query operators bracket by type
      // (manual, "Comparison Query Operators": $gte 2 matches numbers only, $lt 'zzz' strings only).
      expect(seen.minMaxBounds).toEqual(ascending.slice(ascending.indexOf('int'), ascending.indexOf('objectId')));
      expect(seen.gteLtBrackets).toEqual([]);
    });
  },
);
