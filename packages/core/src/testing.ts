/**
 * Test-only entry (`@highwater/core/testing`): sources running deliberately wrong variants of the
 * algorithm, so a test can prove the conformance and property suites notice. Never use in production.
 */
import { resolveOptions } from './source/resolve-options.js';
import type { Source } from './source/source.js';
import type { SourceOptions } from './source/source-options.js';
import { SourceRuntime } from './source/source-runtime.js';
import type { AlgorithmVariant } from './stream/change-router.js';

export type { AlgorithmVariant } from './stream/change-router.js';

/** A source with a broken variant of the algorithm switched on. */
export function createSourceVariant<O>(options: SourceOptions<O>, variant: AlgorithmVariant): Source {
  return new SourceRuntime(resolveOptions(options), variant);
}
