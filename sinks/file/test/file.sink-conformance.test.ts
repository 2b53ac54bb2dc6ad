import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  registerSinkConformanceTests,
  type SinkHarness,
  type StoredEvent,
  type StoredState,
  storedEventOfNativeLine,
} from '@highwater/conformance/sink';
import { FileSink, readFileSinkState, StdoutSink } from '../src/index.js';

function eventsOf(text: string): StoredEvent[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(storedEventOfNativeLine);
}

let dir = '';

const fileHarness: SinkHarness = {
  name: 'file (native JSON lines)',
  stores: 'events',
  storesCheckpoints: true,
  async start() {
    dir = await mkdtemp(join(tmpdir(), 'highwater-file-sink-conformance-'));
  },
  async stop() {
    await rm(dir, { recursive: true, force: true });
  },
  async createSink(target) {
    return new FileSink({ path: join(dir, `${target}.jsonl`), format: 'native' });
  },
  async readBack(target): Promise<StoredState> {
    const path = join(dir, `${target}.jsonl`);
    const state = await readFileSinkState(path);
    if (state === null) return { checkpoint: null, data: { kind: 'events', events: [] } };
    // Only the bytes the checkpoint file names are committed; a tail after them is a crash's leftover.
    const bytes = await readFile(path);
    return {
      checkpoint: state.checkpoint,
      data: { kind: 'events', events: eventsOf(bytes.subarray(0, state.length).toString('utf8')) },
    };
  },
  async abandon(sink, target, pending) {
    await pending.catch(() => undefined);
    // What a crash while appending the next batch leaves: bytes past the stored length, a line cut short.
    await appendFile(join(dir, `${target}.jsonl`), '{"kind":"change","op":"c","key":{"id":99');
    await sink.close(); // the process is gone: its file handle closes with it
  },
};

registerSinkConformanceTests({ harness: fileHarness });

/** Everything each stdout sink printed, by target. */
const printed = new Map<string, string>();

registerSinkConformanceTests({
  harness: {
    name: 'stdout (native JSON lines)',
    stores: 'events',
    storesCheckpoints: false,
    async createSink(target) {
      return new StdoutSink({
        format: 'native',
        output: {
          write(chunk, callback) {
            printed.set(target, (printed.get(target) ?? '') + Buffer.from(chunk).toString('utf8'));
            callback();
            return true;
          },
        },
      });
    },
    async readBack(target) {
      return { checkpoint: null, data: { kind: 'events', events: eventsOf(printed.get(target) ?? '') } };
    },
  },
});
