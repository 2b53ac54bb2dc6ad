import { type Checkpoint, CheckpointError } from '@highwater/core';
import { describe, expect, it } from 'vitest';
import { checkpointWithNotes, schemaChangeNotesIn } from '../src/schema-acceptance.js';

const checkpoint: Checkpoint = { version: 1, connector: 'memory', position: 7, complete: false, tables: {} };

describe('schema change notes beside a stored checkpoint', () => {
  it('round-trip: a refusal and acceptances stored with the checkpoint read back; none when absent', () => {
    const refused = { table: 'app.t', change: 'add-column', column: 'c', offset: 5 };
    const accepted = [{ table: 'app.u', as: 'lenient' as const, through: 3 }];
    const json: unknown = JSON.parse(checkpointWithNotes(checkpoint, { accepted, refused }));
    expect(schemaChangeNotesIn(json, 'row')).toEqual({ accepted, refused });
    expect(JSON.parse(checkpointWithNotes(checkpoint, {}))).toEqual(checkpoint);
    expect(schemaChangeNotesIn(checkpoint, 'row')).toEqual({ accepted: [], refused: null });
  });

  it('a malformed note is a CheckpointError naming the field and the command that rewrites it', () => {
    const bad = [
      { ...checkpoint, acceptedSchemaChanges: { table: 'app.t' } },
      { ...checkpoint, acceptedSchemaChanges: [{ table: 'app.t', as: 'exception' }] },
      { ...checkpoint, refusedSchemaChange: { change: 'add-column' } },
    ];
    for (const json of bad) {
      expect(() => schemaChangeNotesIn(json, 'tg.highwater_checkpoints row p')).toThrow(CheckpointError);
      expect(() => schemaChangeNotesIn(json, 'tg.highwater_checkpoints row p')).toThrow(
        /tg\.highwater_checkpoints row p: (acceptedSchemaChanges|refusedSchemaChange) must be .*highwater schema-change accept/,
      );
    }
  });
});
