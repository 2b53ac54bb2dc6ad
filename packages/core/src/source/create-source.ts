import { resolveOptions } from './resolve-options.js';
import type { Source } from './source.js';
import type { SourceOptions } from './source-options.js';
import { SourceRuntime } from './source-runtime.js';

/**
 * Creates a source: a consistent, lock-free parallel snapshot of the selected tables followed by
 * every change after it, as an async iterable of event batches. Options are checked here
 * (a `ConfigError` names the bad setting); connecting happens on `start()` or the first iteration.
 *
 * @example
 * const source = createSource({ adapter, tables: { include: ['shop.*'] }, checkpointStore });
 * for await (const { events } of source) for (const e of events) console.log(e);
 */
export function createSource<O>(options: SourceOptions<O>): Source {
  return new SourceRuntime(resolveOptions(options));
}
