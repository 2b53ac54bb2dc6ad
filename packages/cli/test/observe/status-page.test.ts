import { MemoryCheckpointStore, SinkError, type SourceAdapter } from '@highwater/core';
import { memoryAdapter } from '@highwater/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { describeStatus } from '../../src/commands/status.js';
import { type MetricsServer, PipelineMetrics, startMetricsServer } from '../../src/observe/metrics-server.js';
import type { ClusterSection, StatusDocument } from '../../src/observe/status/status-document.js';
import type { StatusProvider } from '../../src/observe/status/status-model.js';
import { StatusPage } from '../../src/observe/status/status-page.js';
import { parsePipeline } from '../../src/pipeline/load-pipeline.js';
import { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { RunRecord } from '../../src/run/run-record.js';
import { changes, MemorySink, shopDatabase, streamMetrics, waitFor } from '../helpers.js';

const SECRET = 'sekrit-pw-4711';
const pipeline = parsePipeline(
  [
    'name: shop',
    'source:',
    '  adapter: postgres',
    `  connection: postgres://cdc:\${PW}@db.internal:5432/shop`,
    '  tables: { include: [shop.*] }',
    'sink:',
    '  type: postgres',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the pipeline file's own ${…} syntax
    '  connection: { host: target.internal, port: 5433, user: writer, password: "${PW}", database: app }',
    '  schema: copy',
    'metrics: { port: 0, readyLagSeconds: 30 }',
    '',
  ].join('\n'),
  '/srv/shop.yaml',
  { PW: SECRET },
);

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A runner over the memory database with the status page on a free port; the sampler's timers are slow: tests sample by hand. */
async function serve(
  provider: StatusProvider,
  cluster?: () => ClusterSection,
): Promise<{ page: StatusPage; server: MetricsServer; base: string }> {
  const page = await StatusPage.create({
    provider,
    pipeline,
    ...(cluster === undefined ? {} : { cluster }),
    readyLagSeconds: 30,
    pushIntervalMs: 50,
    sampler: { intervalMs: 3_600_000, readingMs: 3_600_000 },
  });
  const server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new PipelineMetrics(provider, 'shop', { processMetrics: false }),
    routes: (request, response, path) => page.handle(request, response, path),
  });
  cleanups.push(
    () => server.close(),
    () => page.close(),
  );
  return { page, server, base: `http://127.0.0.1:${server.port}` };
}

function shopRunner(rows: number, sink = new MemorySink()) {
  const db = shopDatabase(rows);
  const runner = new PipelineRunner({
    adapter: memoryAdapter(db) as SourceAdapter<unknown>,
    source: { tables: { include: ['shop.*'] }, chunkSize: 30, batchSize: 20 },
    sink,
    checkpointStore: new MemoryCheckpointStore(),
    restart: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 },
  });
  return { db, sink, runner };
}

async function status(base: string, query = ''): Promise<StatusDocument> {
  const response = await fetch(`${base}/api/status${query}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  return (await response.json()) as StatusDocument;
}

describe('the status page', () => {
  it('serves /api/status: state, source and sink without secrets, the checkpoint as status says it, tables, samples', async () => {
    const { db, sink, runner } = shopRunner(90);
    const { page, base } = await serve(runner);
    const before = await status(base);
    expect(before).toMatchObject({ version: 1, pipeline: 'shop', state: 'created' });
    expect(before.checkpoint.phase).toBe('fresh');

    const running = runner.run();
    cleanups.push(async () => {
      runner.stop();
      await running;
    });
    await waitFor(() => runner.state === 'stream', 'the stream');
    db.insert('shop.orders', { id: 91, note: 'new' });
    db.update('shop.orders', [5], { note: 'changed' });
    await waitFor(() => changes(sink.events).includes('u:5'), 'the changes');
    page.sampler.sample();
    page.sampler.sample();
    const doc = await status(base);
    const text = JSON.stringify(doc);
    expect(text).not.toContain(SECRET);
    expect(doc.state).toBe('stream');
    expect(doc.source).toEqual({
      adapter: 'postgres',
      description: 'postgres at db.internal:5432/shop as cdc, tables shop.* (startup initial)',
    });
    expect(doc.sink).toEqual({
      type: 'postgres',
      description: 'postgres at target.internal:5433/app as writer, schema copy',
    });
    // The words of `highwater status`, from the checkpoint this run stored.
    expect(doc.checkpoint.phase).toBe('stream');
    expect(doc.checkpoint.text).toBe(
      describeStatus(
        pipeline,
        {
          location: "postgres target, table copy.highwater_checkpoints, row 'shop'",
          checkpoint: runner.checkpoint,
          storedAt: new Date(doc.checkpoint.storedAt!),
        },
        new Date(doc.generatedAt),
      ),
    );
    expect(doc.checkpoint.text).toContain('phase: stream — all 1 tables snapshotted, following the log');
    expect(doc.snapshot.tables).toEqual([
      expect.objectContaining({ table: 'shop.orders', done: true, chunksDone: 3, rowsRead: 90, etaSeconds: 0 }),
    ]);
    expect(doc.stream.tables).toEqual([{ table: 'shop.orders', reads: 90, inserts: 1, updates: 1, deletes: 0 }]);
    expect(doc.stream.eventsWritten).toBeGreaterThanOrEqual(92);
    expect(doc.ready).toEqual({ ready: true, reason: null, maxLagSeconds: 30 });
    expect(doc.samples.points.map((p) => p.seq)).toEqual([1, 2]);
    expect(doc.samples.points[1]!.emitLagP50).not.toBeNull();
    // A client that has sample 1 gets only the newer ones.
    expect((await status(base, '?since=1')).samples.points.map((p) => p.seq)).toEqual([2]);
  });

  it('serves the page as HTML that reads without JavaScript, and its assets with their types', async () => {
    const { sink, runner } = shopRunner(60);
    const { base } = await serve(runner);
    const running = runner.run();
    cleanups.push(async () => {
      runner.stop();
      await running;
    });
    await waitFor(() => changes(sink.events).length === 60, 'the snapshot');
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="5"></noscript>');
    expect(html).toMatch(
      /<tr data-table="shop.orders" data-phase="(snapshot|stream)"><th scope="row">shop.orders<\/th>/,
    );
    expect(html).toContain('postgres at db.internal:5432/shop as cdc');
    expect(html).not.toContain(SECRET);
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[a-z]/); // nothing from elsewhere: no CDN
    for (const [path, type] of [
      ['/assets/status-page.js', 'text/javascript; charset=utf-8'],
      ['/assets/status-render.js', 'text/javascript; charset=utf-8'],
      ['/assets/status-page.css', 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await fetch(`${base}${path}`);
      expect(asset.status, path).toBe(200);
      expect(asset.headers.get('content-type')).toBe(type);
      expect((await asset.text()).length).toBeGreaterThan(100);
    }
    expect((await fetch(`${base}/assets/nothing.js`)).status).toBe(404);
    expect((await fetch(`${base}/assets/../package.json`)).status).toBe(404);
  });

  it('changes nothing: every method but GET and HEAD is 405', async () => {
    const { runner } = shopRunner(10);
    const { base } = await serve(runner);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/', '/api/status', '/metrics', '/ready']) {
        const response = await fetch(`${base}${path}`, { method });
        expect(response.status, `${method} ${path}`).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, HEAD');
      }
    }
    const head = await fetch(`${base}/api/status`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(runner.state).toBe('created');
  });

  it('streams status documents as Server-Sent Events, each with only the samples the client lacks', async () => {
    const { runner } = shopRunner(10);
    const { page, base } = await serve(runner);
    page.sampler.sample();
    const controller = new AbortController();
    const response = await fetch(`${base}/api/events`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const events: StatusDocument[] = [];
    let buffer = '';
    while (events.length < 3) {
      const { value } = await reader.read();
      buffer += value ?? '';
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end < 0) break;
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').find((l) => l.startsWith('data: '));
        if (data !== undefined) {
          expect(block).toContain('event: status');
          events.push(JSON.parse(data.slice('data: '.length)) as StatusDocument);
          if (events.length === 1) page.sampler.sample();
        }
      }
    }
    controller.abort();
    expect(events[0]!.samples.points.map((p) => p.seq)).toEqual([1]);
    expect(events.slice(1).flatMap((e) => e.samples.points.map((p) => p.seq))).toEqual([2]);
  });

  it('lists restarts and reconnects with their codes, hints and redacted messages', async () => {
    const { db, sink, runner } = shopRunner(60, new MemorySink(true));
    const { base } = await serve(runner);
    let writes = 0;
    sink.onWrite = () => {
      if (++writes === 2) {
        sink.gate = Promise.reject(
          new SinkError(`postgres sink: password ${SECRET} refused: Connection terminated`, { retriable: true }),
        );
      }
    };
    const running = runner.run();
    cleanups.push(async () => {
      runner.stop();
      await running;
    });
    await waitFor(() => changes(sink.stored.events).length === 60, 'the snapshot');
    await waitFor(() => runner.state === 'stream', 'the stream');
    db.faults.dropLogConnections({ afterItems: 0 });
    db.insert('shop.orders', { id: 61, note: 'after the drop' });
    await waitFor(() => changes(sink.stored.events).includes('c:61'), 'the insert after the reconnect');
    const doc = await status(base);
    expect(doc.restarts).toBe(1);
    expect(doc.reconnects).toBeGreaterThanOrEqual(1);
    const restart = doc.incidents.find((i) => i.kind === 'restart')!;
    expect(restart).toMatchObject({
      code: 'HW_SINK',
      message: 'postgres sink: password *** refused: Connection terminated',
      attempt: 1,
      attempts: 3,
      delayMs: 1,
      reader: null,
    });
    expect(restart.hint).toContain('the target refused a write');
    const reconnect = doc.incidents.find((i) => i.kind === 'reconnect')!;
    expect(reconnect).toMatchObject({ code: 'HW_CONNECTION_LOST', reader: 'log', attempt: 1 });
    expect(reconnect.hint).toContain('retried by itself');
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain('<strong>restart</strong> <code>HW_SINK</code>');
    expect(html).toContain('<strong>reconnect (log reader)</strong> <code>HW_CONNECTION_LOST</code>');
    expect(html).not.toContain(SECRET);
  });
});

describe('/health and /ready', () => {
  /** A provider whose state, lag and incidents the test sets. */
  function fakeProvider() {
    const record = new RunRecord();
    const provider = {
      state: 'stream' as PipelineRunner['state'],
      lagMs: null as number | null,
      record,
      checkpoint: null,
      metrics: () =>
        streamMetrics({ currentFetchEventTimeLag: provider.lagMs, currentEmitEventTimeLag: provider.lagMs }),
      progress: () => ({ batches: 0, events: 0, checkpointStoredAt: null, restarts: 0 }),
    };
    return provider;
  }

  it('/health is 200 while the process is up; /ready is 503 with the reason unless reading, connected and within the lag', async () => {
    const provider = fakeProvider();
    const { base } = await serve(provider);
    const ready = async () => {
      const response = await fetch(`${base}/ready`);
      return { status: response.status, body: (await response.json()) as { ready: boolean; reason: string | null } };
    };

    expect(await ready()).toEqual({ status: 200, body: { ready: true, reason: null, maxLagSeconds: 30 } });
    provider.lagMs = 31_000;
    expect(await ready()).toEqual({
      status: 503,
      body: {
        ready: false,
        reason: 'the emit lag is 31.0 s, above metrics.readyLagSeconds (30 s)',
        maxLagSeconds: 30,
      },
    });
    provider.lagMs = 1_000;
    provider.record.reconnect({
      reader: 'log',
      error: new Error('Connection terminated'),
      attempt: 1,
      attempts: 5,
      delayMs: 100,
    });
    expect((await ready()).body.reason).toBe('the source is reconnecting its log reader: Connection terminated');
    // A batch written after the reconnect: connected again.
    await new Promise((resolve) => setTimeout(resolve, 2));
    provider.record.batchWritten({ events: [], checkpoint: null } as never, 1);
    expect((await ready()).status).toBe(200);
    provider.state = 'restarting';
    expect(await ready()).toMatchObject({ status: 503, body: { reason: 'the pipeline is restarting, not reading' } });

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'up', state: 'restarting' });
  });

  it('shows the members of a clustered pipeline: who leads, what each one reads; a member that does not lead is ready while NATS answers', async () => {
    const provider = fakeProvider();
    provider.state = 'created';
    const at = '2026-12-07T19:00:00.000Z';
    let section: ClusterSection = {
      member: 'web-2-77',
      role: 'member',
      leader: 'web-1-42',
      readAt: at,
      error: null,
      members: [
        {
          member: 'web-1-42',
          host: 'web-1',
          pid: 42,
          role: 'leader',
          reading: [],
          handedOut: 9,
          chunksWritten: 3,
          since: at,
          seenAt: at,
        },
        {
          member: 'web-2-77',
          host: 'web-2',
          pid: 77,
          role: 'member',
          reading: ['shop.orders:12', 'shop.<b>:3'],
          handedOut: 0,
          chunksWritten: 5,
          since: at,
          seenAt: at,
        },
      ],
    };
    const { base } = await serve(provider, () => section);
    const doc = await status(base);
    expect(doc.cluster).toEqual(section);
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain('<h2>Cluster members</h2>');
    expect(html).toContain('<tr data-member="web-1-42" data-role="leader">');
    expect(html).toContain('<code>shop.orders:12</code> <code>shop.&lt;b&gt;:3</code>');
    expect(html).toContain('Leader: <strong>web-1-42</strong>');
    // No pipeline runs here, yet the member reads chunks: ready while NATS answers.
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    section = { ...section, error: 'connection refused' };
    const notReady = await fetch(`${base}/ready`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { reason: string }).reason).toBe('NATS did not answer: connection refused');
    // A single process's page has no such section.
    const single = await serve(fakeProvider());
    expect((await status(single.base)).cluster).toBeUndefined();
    expect(await (await fetch(`${single.base}/`)).text()).not.toContain('Cluster members');
  });
});
