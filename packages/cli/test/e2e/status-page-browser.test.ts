import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { startPostgres, type ThrowawayPostgres } from '@highwater/test-servers';
import pg from 'pg';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeRun } from '../../src/commands/run.js';
import type { MetricsServer } from '../../src/observe/metrics-server.js';
import { type LoadedPipeline, parsePipeline } from '../../src/pipeline/load-pipeline.js';
import type { PipelineRunner } from '../../src/run/pipeline-runner.js';
import { createAdapter, sourceOptionsOf } from '../../src/sources/create-adapter.js';
import { referencedMetrics } from '../monitoring.js';
import { until } from './cli.js';

// The status page in a real browser (Debian's chromium, driven by playwright-core), over a real
// pipeline: throwaway Postgres → file sink, under a writer. The snapshot is held at chunk
// boundaries by the source's phase hooks, so the page is seen mid-snapshot deterministically.
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** Screenshots of each run (gitignored); `HIGHWATER_DOCS_SCREENSHOT=1` also refreshes the one in docs/. */
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../../docs/images/status-page.png', import.meta.url));
const ROWS = 24_000;
const CHUNK = 1_000;

let server: ThrowawayPostgres;
let dir: string;
let context: BrowserContext | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  }
  dir = await mkdtemp(join(tmpdir(), 'hw-status-page-'));
  server = await startPostgres({ useEnv: false });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query('CREATE TABLE public.items (id int PRIMARY KEY, v int NOT NULL, note text)');
  await client.query(`INSERT INTO public.items SELECT g, 0, 'row ' || g FROM generate_series(1, ${ROWS}) g`);
  await client.end();
}, 120_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await server?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Inserts and updates on the source until stopped, a few milliseconds apart. */
function startWriter(url: string): { stop: () => Promise<void> } {
  let running = true;
  const done = (async () => {
    const client = new pg.Client({ connectionString: url, application_name: 'status-page-writer' });
    client.on('error', () => undefined);
    await client.connect();
    let next = ROWS + 1;
    while (running) {
      if (next % 3 === 0) await client.query("INSERT INTO public.items VALUES ($1, 0, 'new')", [next]);
      await client.query('UPDATE public.items SET v = v + 1 WHERE id = $1', [1 + (next % ROWS)]);
      next++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await client.end();
  })();
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Chunk reads wait in `afterRead` until their index is below `allowed`. */
class ChunkGate {
  #allowed = 0;
  #waiters: (() => void)[] = [];

  allow(n: number): void {
    this.#allowed = n;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async pass(index: number): Promise<void> {
    while (index >= this.#allowed) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
}

/** `12 / 24` in the table's chunks cell → 12; the row's phase. */
async function tableRow(page: Page): Promise<{ phase: string | null; chunksDone: number } | null> {
  const row = page.locator('tr[data-table="public.items"]');
  if ((await row.count()) === 0) return null;
  const chunks = (await row.locator('td.chunks').textContent()) ?? '';
  return { phase: await row.getAttribute('data-phase'), chunksDone: Number(chunks.split('/')[0]!.replace(/,/g, '')) };
}

async function pageState(page: Page): Promise<string | null> {
  return page.getAttribute('#state', 'data-state');
}

/** `live` (Server-Sent Events) or `polling` once the page's script has applied a status document. */
async function liveMode(page: Page): Promise<string | null> {
  return page.getAttribute('body', 'data-live');
}

/** Runs the pipeline in-process, as `highwater run` does, with chunk reads held by `gate`. */
function startRun(pipeline: LoadedPipeline, gate: ChunkGate, stderr = new PassThrough()) {
  const started: { runner?: PipelineRunner; metrics?: MetricsServer } = {};
  const exit = createAdapter(pipeline.config.source, pipeline.name).then((adapter) =>
    executeRun(
      {
        pipeline,
        adapter,
        sourceOptions: {
          ...sourceOptionsOf(pipeline.config.source),
          phaseHooks: { afterRead: (split) => gate.pass(split.index) },
        },
      },
      { progress: 'off', logFormat: 'json' },
      {
        stderr,
        handleSignals: false,
        onRunner: (r) => (started.runner = r),
        onMetrics: (m) => (started.metrics = m),
      },
    ),
  );
  return { started, exit };
}

describe('the status page in headless Chromium', () => {
  it('shows the snapshot advancing, then the stream, charts with points, a changing lag and a killed walsender', async () => {
    const file = join(dir, 'status.yaml');
    await writeFile(
      file,
      [
        'name: status-page',
        'source:',
        '  adapter: postgres',
        `  connection: ${server.url}`,
        "  tables: { include: ['public.items'] }",
        `  chunkSize: ${CHUNK}`,
        '  parallelism: 2',
        '  batchSize: 200',
        'sink:',
        '  type: file',
        '  path: events.jsonl',
        'metrics: { port: 0, readyLagSeconds: 60 }',
        '',
      ].join('\n'),
    );
    const pipeline = parsePipeline(await readFile(file, 'utf8'), file, {});
    const gate = new ChunkGate();
    const stderr = new PassThrough();
    let log = '';
    stderr.on('data', (c: Buffer) => (log += c.toString()));
    const writer = startWriter(server.url);
    const { started, exit } = startRun(pipeline, gate, stderr);
    try {
      const metrics = await until('the metrics server', async () => started.metrics);
      const base = `http://127.0.0.1:${metrics.port}`;
      expect(log).toContain(`status page at ${base}/`);
      await mkdir(ARTIFACTS, { recursive: true });
      context = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'hw-chromium-')), {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
        viewport: { width: 1100, height: 1400 },
        colorScheme: 'light',
      });
      const page = await context.newPage();
      await page.goto(`${base}/`);
      await until('the page to go live over Server-Sent Events', async () => (await liveMode(page)) === 'live');

      // The snapshot, advancing: 2 chunks, then 6, while the page says `snapshot`.
      gate.allow(2);
      const first = await until('two chunks on the page', async () => {
        const row = await tableRow(page);
        return row !== null && row.phase === 'snapshot' && row.chunksDone >= 2 ? row : null;
      });
      expect(await pageState(page)).toBe('snapshot');
      gate.allow(6);
      const second = await until('more chunks on the page', async () => {
        const row = await tableRow(page);
        return row !== null && row.phase === 'snapshot' && row.chunksDone > first.chunksDone ? row : null;
      });
      expect(second.chunksDone).toBeLessThanOrEqual(6);
      expect(await pageState(page)).toBe('snapshot');

      // Then the stream.
      gate.allow(Number.POSITIVE_INFINITY);
      await until('the page to say stream', async () => (await pageState(page)) === 'stream');
      await until('the table to be streamed', async () => (await tableRow(page))?.phase === 'stream');

      // Every metric the alert rules and the dashboard use is exported by this real Postgres pipeline.
      const exposition = await (await fetch(`${base}/metrics`)).text();
      const missing = referencedMetrics().filter((name) => !new RegExp(`^${name}[{ ]`, 'm').test(exposition));
      expect(missing).toEqual(['highwater_log_binlog_lag_bytes']); // MySQL's figure

      // A chart with points, and the lag figure changing as the writer writes.
      const points = await until('the events chart to have points', async () => {
        const n = Number(await page.getAttribute('#chart-events', 'data-points'));
        return n >= 3 ? n : null;
      });
      expect(points).toBeGreaterThanOrEqual(3);
      const polyline = await page.getAttribute('#chart-events polyline', 'points');
      expect(polyline?.split(' ').length).toBeGreaterThanOrEqual(3);
      const lag = await until('a lag figure', async () => {
        const text = await page.textContent('#lag');
        return text !== null && text !== '–' ? text : null;
      });
      await until('the lag figure to change', async () => {
        const text = await page.textContent('#lag');
        return text !== null && text !== '–' && text !== lag;
      });

      // Kill the replication connection: the page lists the reconnect with its code and message.
      const killer = new pg.Client({ connectionString: server.url });
      await killer.connect();
      const killed = await killer.query('SELECT pg_terminate_backend(pid) FROM pg_stat_replication');
      await killer.end();
      expect(killed.rowCount).toBe(1);
      const incident = await until('the reconnect on the page', async () => {
        const text = await page.textContent('#incidents');
        return text?.includes('reconnect (log reader)') ? text : null;
      });
      expect(incident).toContain('HW_CONNECTION_LOST');
      const message = await page.textContent('.incident-reconnect .message');
      expect(message?.length).toBeGreaterThan(10);
      expect(await page.textContent('#overview')).toMatch(/0 restarts, [1-9]\d* reconnects?/);
      await until('the stream to go on after the reconnect', async () => (await pageState(page)) === 'stream');

      await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
      if (process.env.HIGHWATER_DOCS_SCREENSHOT === '1') {
        await copyFile(join(ARTIFACTS, 'status-page.png'), DOCS_SCREENSHOT);
      }

      // A phone, in dark mode: nothing wider than the screen, dark colours.
      const phone = await context.newPage();
      await phone.setViewportSize({ width: 390, height: 844 });
      await phone.emulateMedia({ colorScheme: 'dark' });
      await phone.goto(`${base}/`);
      await until('the phone page to go live', async () => (await liveMode(phone)) === 'live');
      expect(Number(await phone.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(390);
      expect(await phone.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(17, 20, 24)');
      await phone.screenshot({ path: join(ARTIFACTS, 'status-page-phone-dark.png'), fullPage: true });

      // Without EventSource (or with ?poll), the page polls /api/status.
      const polling = await context.newPage();
      await polling.goto(`${base}/?poll`);
      await until('the polling page to update', async () => (await liveMode(polling)) === 'polling');
      expect(Number(await polling.getAttribute('#chart-events', 'data-points'))).toBeGreaterThanOrEqual(3);
    } finally {
      started.runner?.stop();
      gate.allow(Number.POSITIVE_INFINITY);
      expect(await exit).toBe(0);
      await writer.stop();
    }
  }, 240_000);

  it('reads without JavaScript: the served HTML holds the table and refreshes itself', async () => {
    const file = join(dir, 'nojs.yaml');
    const text = [
      'name: nojs',
      'source:',
      '  adapter: postgres',
      `  connection: ${server.url}`,
      "  tables: { include: ['public.items'] }",
      '  startup: snapshot',
      `  chunkSize: ${CHUNK}`,
      'sink:',
      '  type: file',
      '  path: nojs.jsonl',
      'metrics: { port: 0 }',
      '',
    ].join('\n');
    await writeFile(file, text);
    const pipeline = parsePipeline(text, file, {});
    const gate = new ChunkGate();
    gate.allow(3);
    const { started, exit } = startRun(pipeline, gate);
    try {
      const metrics = await until('the metrics server', async () => started.metrics);
      const base = `http://127.0.0.1:${metrics.port}`;
      const html = await until('three chunks in the plain HTML', async () => {
        const body = await (await fetch(`${base}/`)).text();
        return /<td class="chunks">.*?3 \/ \d+<\/td>/.test(body) ? body : null;
      });
      expect(html).toContain('<table id="tables">');
      expect(html).toContain('<th scope="row">public.items</th>');
      expect(html).toContain('<noscript><meta http-equiv="refresh" content="5"></noscript>');

      // In Chromium with JavaScript off the same page shows the table, and its refresh is live.
      const noScript = await chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), 'hw-chromium-')), {
        executablePath: CHROMIUM,
        args: CHROMIUM_ARGS,
        headless: true,
        javaScriptEnabled: false,
      });
      try {
        const page = await noScript.newPage();
        await page.goto(`${base}/`);
        expect(await page.textContent('tr[data-table="public.items"] th')).toBe('public.items');
        // With scripting off, <noscript> content is parsed as elements: the refresh applies.
        expect(await page.locator('noscript meta[http-equiv="refresh"]').count()).toBe(1);
        expect(await liveMode(page)).toBeNull();
      } finally {
        await noScript.close();
      }
    } finally {
      gate.allow(Number.POSITIVE_INFINITY);
      started.runner?.stop();
      expect(await exit).toBe(0);
    }
  }, 120_000);
});
