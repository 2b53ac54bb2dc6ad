import type { AdapterCapabilities, Source, SourceAdapter, SourceOptions } from '@highwater/core';
import type { CaseContext } from '../case.js';
import { Consumer } from '../support/consumer.js';
import { withTimeout } from '../run-case.js';
import { ConformanceFailure, check, fail } from '../support/failure.js';

/** What an error must look like: a Highwater error code and class, and words its message must contain. */
export interface ExpectedError {
  readonly codes: readonly string[];
  readonly mentions?: readonly string[];
}

export interface ErrorLike {
  readonly name: string;
  readonly code: string;
  readonly message: string;
}

/** The error a source fails with: from `start()`, or from iteration for adapters that fail on first read. */
async function failureOf(
  ctx: CaseContext,
  source: Source,
  adapter: SourceAdapter<unknown>,
  what: string,
): Promise<unknown> {
  try {
    await withTimeout(source.start(), Math.min(5000, ctx.timeLeft()), 'source.start()');
  } catch (error) {
    if (error instanceof ConformanceFailure)
      fail(`${what}: ${error.message} (it should have failed with a clear error)`);
    return error;
  }
  const consumer = new Consumer(ctx, source, adapter);
  const deadline = Date.now() + Math.min(5000, ctx.timeLeft());
  try {
    while (Date.now() < deadline) {
      const batch = await consumer.take();
      if (batch === 'done') fail(`${what}: the source ended without an error`);
      if (batch === 'idle') await ctx.poke();
    }
  } catch (error) {
    return error;
  }
  return fail(`${what}: the source did not fail within 5 s`);
}

export function checkError(error: unknown, expected: ExpectedError, what: string): ErrorLike {
  const e = error as Partial<ErrorLike> | null;
  const described =
    error instanceof Error
      ? `${error.name}${typeof e?.code === 'string' ? ` (${e.code})` : ''}: ${error.message}`
      : String(error);
  check(
    typeof e?.code === 'string' && expected.codes.includes(e.code),
    () => `${what}: expected an error with code ${expected.codes.join(' or ')}, got ${described}`,
  );
  const message = String(e?.message);
  for (const m of expected.mentions ?? []) {
    check(message.includes(m), () => `${what}: the message does not name ${JSON.stringify(m)}: ${described}`);
  }
  return e as ErrorLike;
}

export async function expectSourceError(
  ctx: CaseContext,
  options: SourceOptions<unknown>,
  expected: ExpectedError,
  what: string,
): Promise<ErrorLike> {
  let source: Source;
  try {
    source = ctx.createSource(options);
  } catch (error) {
    return checkError(error, expected, what);
  }
  return checkError(await failureOf(ctx, source, options.adapter, what), expected, what);
}

/** A qualified name in the same schema as `table`, with another last part. */
export function sibling(table: string, name: string): string {
  const dot = table.lastIndexOf('.');
  return dot < 0 ? name : `${table.slice(0, dot + 1)}${name}`;
}

/** The adapter with a capability declared absent (to see the core refuse it, when the adapter has it). */
export function without(adapter: SourceAdapter<unknown>, flag: keyof AdapterCapabilities): SourceAdapter<unknown> {
  return {
    name: adapter.name,
    capabilities: { ...adapter.capabilities, [flag]: false },
    offsets: adapter.offsets,
    compareKeys: (table, a, b) => adapter.compareKeys(table, a, b),
    createIntrospector: () => adapter.createIntrospector(),
    createChunkReader: () => adapter.createChunkReader(),
    createLogReader: (request) => adapter.createLogReader(request),
  };
}
