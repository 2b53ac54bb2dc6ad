import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoadedPipeline } from '../../pipeline/load-pipeline.js';
import { Sampler, type SamplerOptions } from './sampler.js';
import type { ClusterSection, StatusDocument } from './status-document.js';
import { StatusModel, type StatusProvider } from './status-model.js';

/** The page's files, served from the package (no CDN, no build step): `packages/cli/assets`. */
const ASSETS_DIR = new URL('../../../assets/', import.meta.url);
const ASSETS: Readonly<Record<string, string>> = {
  'status-page.js': 'text/javascript; charset=utf-8',
  'status-render.js': 'text/javascript; charset=utf-8',
  'status-page.css': 'text/css; charset=utf-8',
};
/** With JavaScript off, the page reloads itself this often. */
const NO_SCRIPT_REFRESH_SECONDS = 5;

/** `assets/status-render.js`: the page's one renderer, used here for the page served with JavaScript off. */
interface PageRenderer {
  renderPage(doc: StatusDocument, refreshSeconds: number): string;
}

export interface StatusPageOptions {
  readonly provider: StatusProvider;
  readonly pipeline: LoadedPipeline;
  /** `/ready` answers 503 above this emit lag (seconds). */
  readonly readyLagSeconds: number;
  /** One Server-Sent Event per interval (default 1000 ms). */
  readonly pushIntervalMs?: number;
  readonly sampler?: SamplerOptions;
  /** A clustered pipeline's members, shown in a section of their own and in `/api/status`. */
  readonly cluster?: () => ClusterSection;
}

/**
 * The status page and its JSON, served beside `/metrics`: `GET /` (HTML, live with JavaScript,
 * refreshing itself without), `/api/status`, `/api/events` (Server-Sent Events), `/health`,
 * `/ready`, `/assets/*`. Read-only: nothing here changes the pipeline.
 */
export class StatusPage {
  readonly model: StatusModel;
  readonly sampler: Sampler;
  readonly #renderer: PageRenderer;
  readonly #assets: ReadonlyMap<string, { type: string; body: Buffer }>;
  readonly #streams = new Set<ServerResponse>();
  readonly #pushIntervalMs: number;

  private constructor(
    options: StatusPageOptions,
    renderer: PageRenderer,
    assets: ReadonlyMap<string, { type: string; body: Buffer }>,
  ) {
    this.sampler = new Sampler(options.provider, options.sampler);
    this.model = new StatusModel(options.provider, options.pipeline, {
      sampler: this.sampler,
      readyLagSeconds: options.readyLagSeconds,
      ...(options.cluster === undefined ? {} : { cluster: options.cluster }),
    });
    this.#renderer = renderer;
    this.#assets = assets;
    this.#pushIntervalMs = options.pushIntervalMs ?? 1_000;
  }

  /** Loads the page's files and starts sampling. */
  static async create(options: StatusPageOptions): Promise<StatusPage> {
    const assets = new Map<string, { type: string; body: Buffer }>();
    for (const [name, type] of Object.entries(ASSETS)) {
      assets.set(name, { type, body: await readFile(new URL(name, ASSETS_DIR)) });
    }
    const renderer = (await import(new URL('status-render.js', ASSETS_DIR).href)) as PageRenderer;
    return new StatusPage(options, renderer, assets);
  }

  /** Answers `path` if it is one of the page's; false otherwise. Only called for GET and HEAD. */
  handle(request: IncomingMessage, response: ServerResponse, path: string): boolean {
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams;
    const since = Number(query.get('since') ?? 0) || 0;
    switch (path) {
      case '/':
        send(
          response,
          200,
          'text/html; charset=utf-8',
          this.#renderer.renderPage(this.model.document(), NO_SCRIPT_REFRESH_SECONDS),
        );
        return true;
      case '/health':
        sendJson(response, 200, { status: 'up', state: this.model.document().state });
        return true;
      case '/ready': {
        const readiness = this.model.readiness();
        sendJson(response, readiness.ready ? 200 : 503, readiness);
        return true;
      }
      case '/api/status':
        sendJson(response, 200, this.model.document(since));
        return true;
      case '/api/events':
        this.#stream(request, response, since);
        return true;
    }
    const asset = path.startsWith('/assets/') ? this.#assets.get(path.slice('/assets/'.length)) : undefined;
    if (asset === undefined) return false;
    send(response, 200, asset.type, asset.body);
    return true;
  }

  /** Server-Sent Events: a `status` event now and every interval, each with the samples the client lacks. */
  #stream(request: IncomingMessage, response: ServerResponse, since: number): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    let seq = since;
    const push = () => {
      const doc = this.model.document(seq);
      seq = doc.samples.points.at(-1)?.seq ?? seq;
      response.write(`event: status\ndata: ${JSON.stringify(doc)}\n\n`);
    };
    response.write('retry: 2000\n\n');
    push();
    const timer = setInterval(push, this.#pushIntervalMs);
    this.#streams.add(response);
    response.on('close', () => {
      clearInterval(timer);
      this.#streams.delete(response);
    });
  }

  /** Stops sampling and ends open event streams. */
  close(): void {
    this.sampler.stop();
    for (const response of this.#streams) response.end();
  }
}

function send(response: ServerResponse, status: number, type: string, body: string | Buffer): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(body, null, 2)}\n`);
}
