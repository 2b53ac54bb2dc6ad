// Keeps the status page live: Server-Sent Events from /api/events, or polling /api/status when
// EventSource is missing or keeps failing. Each message is a status document whose samples are
// only the new ones; the page keeps the rest and renders with the server's own renderer.
import { renderSections } from './status-render.js';

const SECTION_IDS = {
  header: 'header',
  overview: 'overview',
  tables: 'tables-section',
  charts: 'charts',
  checkpoint: 'checkpoint',
  incidents: 'incidents',
  cluster: 'cluster',
};
const POLL_MS = 2000;
/** Samples kept in the page: the server's ring holds as many. */
const MAX_POINTS = 600;

let points = [];
let lastSeq = 0;

function apply(doc, how) {
  const bySeq = new Map(points.map((p) => [p.seq, p]));
  for (const p of doc.samples.points) bySeq.set(p.seq, p);
  points = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-MAX_POINTS);
  if (points.length > 0) lastSeq = points[points.length - 1].seq;
  const sections = renderSections({ ...doc, samples: { ...doc.samples, points } });
  for (const [key, id] of Object.entries(SECTION_IDS)) {
    const element = document.getElementById(id);
    if (element !== null && element.innerHTML !== sections[key]) element.innerHTML = sections[key];
  }
  const connection = document.getElementById('connection');
  if (connection !== null) connection.textContent = `${how} · updated ${doc.generatedAt.slice(11, 19)} UTC`;
  document.body.dataset.live = how;
}

function poll() {
  fetch(`/api/status?since=${lastSeq}`, { cache: 'no-store' })
    .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`HTTP ${response.status}`))))
    .then((doc) => apply(doc, 'polling'))
    .catch(() => {
      const connection = document.getElementById('connection');
      if (connection !== null) connection.textContent = 'the pipeline does not answer (stopped?); retrying';
    })
    .finally(() => setTimeout(poll, POLL_MS));
}

function listen() {
  if (typeof EventSource !== 'function' || new URLSearchParams(location.search).has('poll')) {
    poll();
    return;
  }
  let failures = 0;
  // The first message carries every sample; after a reconnect the server starts again from `since`.
  const source = new EventSource(`/api/events?since=${lastSeq}`);
  source.addEventListener('status', (event) => {
    failures = 0;
    apply(JSON.parse(event.data), 'live');
  });
  source.onerror = () => {
    failures++;
    if (failures >= 3) {
      source.close();
      poll();
    }
  };
}

listen();
