import { describe, expect, it } from 'vitest';
import { runSinkCase, SinkConformanceFailure, sinkCases } from '../src/sink/index.js';
import { memorySinkHarness, type SinkFault } from './memory-sink.js';

const seed = 20261207;
const caseOf = (id: string) => {
  const found = sinkCases.find((c) => c.id === id);
  if (found === undefined) throw new Error(`no case ${id}`);
  return found;
};

describe('the sink conformance suite', () => {
  it('passes a correct sink in every case', async () => {
    for (const c of sinkCases) await runSinkCase(c, memorySinkHarness(), { seed, target: `ok_${c.id}` });
  }, 120_000);

  // Each fault is one a real sink could have; the case named must catch it.
  const caught: [SinkFault, string, RegExp][] = [
    ['checkpoint-before-rows', 'crash-mid-write', /rows lost|checkpoint is at batch/],
    ['deletes-first', 'order-per-key', /rows that should not be there|rows lost|stored/],
    ['drops-added-columns', 'schema-add-column', /note/],
    ['appends-snapshot-rows', 'snapshot-chunk-written-again', /keys stored twice/],
    ['ignores-truncate', 'commit-order-across-tables', /rows that should not be there/],
    ['caps-batch', 'large-batches', /rows lost|rows differ|should not be there/],
  ];
  for (const [fault, id, message] of caught) {
    it(`fails a sink that ${fault.replace(/-/g, ' ')} in ${id}`, async () => {
      const error = await runSinkCase(caseOf(id), memorySinkHarness(fault), { seed, target: `bad_${id}` }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SinkConformanceFailure);
      expect((error as Error).message).toMatch(message);
    }, 60_000);
  }
});
