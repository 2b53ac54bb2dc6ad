// The status page's HTML, from a status document (docs/operations.md, "Status page"). Plain
// JavaScript with no imports, so the same code renders the page on the server (JavaScript off)
// and in the browser (live updates): each section is a string of HTML, replaced whole.

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(value) {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

const number = (n) => Math.round(n).toLocaleString('en-US');
const plural = (n, word, words = `${word}s`) => `${number(n)} ${n === 1 ? word : words}`;

/** An adapter's log figure, by the unit its name ends in (positions come as text, `0/16B3748`). */
function logFigure(key, value) {
  if (typeof value === 'string') return value;
  if (/Bytes$/.test(key)) return bytes(value);
  return number(value);
}

/** `850 ms`, `4.2 s`, `3 min 12 s`, `2 h 5 min`; `–` for null. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** `512 B`, `4.0 MiB`… */
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

const STATE_WORDS = {
  created: 'created',
  starting: 'starting',
  snapshot: 'snapshot',
  stream: 'stream',
  restarting: 'restarting',
  stopping: 'stopping',
  stopped: 'stopped',
  done: 'done',
  failed: 'failed',
};

function header(doc) {
  const state = STATE_WORDS[doc.state] ?? doc.state;
  return (
    `<h1>${escapeHtml(doc.pipeline)}</h1>` +
    `<span class="state state-${escapeHtml(doc.state)}" id="state" data-state="${escapeHtml(doc.state)}">${escapeHtml(state)}</span>` +
    `<span class="uptime">up ${duration(doc.uptimeSeconds)}</span>`
  );
}

function overview(doc) {
  const s = doc.stream;
  const ready = doc.ready.ready ? 'ready' : `not ready: ${doc.ready.reason}`;
  const rows = [
    ['source', doc.source.description],
    ['sink', doc.sink.description],
    ['ready', ready],
    ['events written', `${number(s.eventsWritten)} in ${plural(s.batchesWritten, 'batch', 'batches')}`],
    ['events/s', number(s.eventsPerSecond)],
    ['emit lag', duration(s.emitLagSeconds), 'lag'],
    ['fetch lag', duration(s.fetchLagSeconds)],
    ['source idle', duration(s.idleSeconds)],
    ['restarts', `${plural(doc.restarts, 'restart')}, ${plural(doc.reconnects, 'reconnect')}`],
  ];
  for (const [key, value] of Object.entries(s.log)) rows.push([key, logFigure(key, value)]);
  return `<dl>${rows
    .map(([k, v, id]) => `<dt>${escapeHtml(k)}</dt><dd${id ? ` id="${id}"` : ''}>${escapeHtml(v)}</dd>`)
    .join('')}</dl>`;
}

function tables(doc) {
  const snapshot = new Map(doc.snapshot.tables.map((t) => [t.table, t]));
  const stream = new Map(doc.stream.tables.map((t) => [t.table, t]));
  const names = [...new Set([...snapshot.keys(), ...stream.keys()])].sort();
  if (names.length === 0) return '<p class="empty">No table read or written yet in this run.</p>';
  const head =
    '<thead><tr><th>table</th><th>phase</th><th>chunks</th><th>rows read</th><th>rows/s</th><th>ETA</th>' +
    '<th>inserts</th><th>updates</th><th>deletes</th></tr></thead>';
  const body = names.map((name) => {
    const t = snapshot.get(name);
    const c = stream.get(name);
    const phase = t === undefined || t.done ? 'stream' : 'snapshot';
    const pct =
      t === undefined || t.done ? 100 : t.chunksTotal === 0 ? 0 : Math.min(100, (100 * t.chunksDone) / t.chunksTotal);
    const chunks =
      t === undefined
        ? '–'
        : `<span class="bar" style="--done:${pct.toFixed(1)}%"></span>${number(t.chunksDone)} / ${number(t.chunksTotal)}`;
    const rows =
      t === undefined
        ? '–'
        : `${number(t.rowsRead)}${t.rowsTotalEstimate === null || t.done ? '' : ` / ~${number(t.rowsTotalEstimate)}`}`;
    const cells = [
      `<th scope="row">${escapeHtml(name)}</th>`,
      `<td class="phase phase-${phase}">${phase}</td>`,
      `<td class="chunks">${chunks}</td>`,
      `<td>${rows}</td>`,
      `<td>${t === undefined || t.done ? '–' : number(t.rowsPerSecond)}</td>`,
      `<td>${t === undefined ? '–' : t.done ? 'done' : duration(t.etaSeconds)}</td>`,
      `<td>${c === undefined ? 0 : number(c.inserts)}</td>`,
      `<td>${c === undefined ? 0 : number(c.updates)}</td>`,
      `<td>${c === undefined ? 0 : number(c.deletes)}</td>`,
    ];
    return `<tr data-table="${escapeHtml(name)}" data-phase="${phase}">${cells.join('')}</tr>`;
  });
  return `<div class="scroll"><table id="tables">${head}<tbody>${body.join('')}</tbody></table></div>`;
}

const CHARTS = [
  { id: 'events', title: 'events/s', lines: [['eventsPerSecond', 'events/s']], format: number },
  {
    id: 'emit-lag',
    title: 'emit lag',
    lines: [
      ['emitLagP50', 'p50'],
      ['emitLagP99', 'p99'],
    ],
    format: duration,
  },
  {
    id: 'fetch-lag',
    title: 'fetch lag',
    lines: [
      ['fetchLagP50', 'p50'],
      ['fetchLagP99', 'p99'],
    ],
    format: duration,
  },
  { id: 'log-lag', title: 'log lag (WAL / binlog held)', lines: [['logLagBytes', 'bytes']], format: bytes },
  { id: 'write-time', title: 'batch write time', lines: [['batchWriteMs', 'ms']], format: (ms) => duration(ms / 1000) },
];

const WIDTH = 300;
const HEIGHT = 90;

/** One small SVG line chart; x is time over the samples' span, y from 0 to the largest value. */
function chart(spec, series) {
  const points = series.points;
  const t0 = points.length === 0 ? 0 : points[0].t;
  const t1 = points.length === 0 ? 1 : Math.max(points[points.length - 1].t, t0 + 1);
  let max = 0;
  for (const p of points) for (const [key] of spec.lines) if (p[key] !== null && p[key] > max) max = p[key];
  const top = max === 0 ? 1 : max * 1.1;
  const x = (t) => ((t - t0) / (t1 - t0)) * WIDTH;
  const y = (v) => HEIGHT - (v / top) * HEIGHT;
  let drawn = 0;
  const lines = spec.lines.map(([key], i) => {
    const coords = points.filter((p) => p[key] !== null).map((p) => `${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`);
    drawn = Math.max(drawn, coords.length);
    return `<polyline class="line line-${i}" points="${coords.join(' ')}"/>`;
  });
  const last = points.length === 0 ? null : points[points.length - 1];
  const legend = spec.lines
    .map(([key, label], i) => {
      const value = last === null || last[key] === null ? '–' : spec.format(last[key]);
      return `<span class="key key-${i}">${escapeHtml(label)} ${escapeHtml(value)}</span>`;
    })
    .join(' ');
  const span = points.length < 2 ? '' : duration((t1 - t0) / 1000);
  return (
    `<figure class="chart" id="chart-${spec.id}" data-points="${drawn}">` +
    `<figcaption>${escapeHtml(spec.title)} <small>${legend}</small></figcaption>` +
    `<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="none" role="img" aria-label="${escapeHtml(spec.title)}">` +
    `<line class="axis" x1="0" y1="${HEIGHT}" x2="${WIDTH}" y2="${HEIGHT}"/>${lines.join('')}</svg>` +
    `<div class="scale"><span>${span === '' ? '' : `−${span}`}</span><span>max ${escapeHtml(max === 0 ? '0' : spec.format(max))}</span><span>now</span></div>` +
    '</figure>'
  );
}

function charts(doc) {
  return CHARTS.map((spec) => chart(spec, doc.samples)).join('');
}

function checkpoint(doc) {
  return `<pre>${escapeHtml(doc.checkpoint.text)}</pre>`;
}

function incidents(doc) {
  if (doc.incidents.length === 0) return '<p class="empty">No errors, restarts or reconnects in this run.</p>';
  const items = [...doc.incidents].reverse().map((i) => {
    const attempt =
      i.attempt === null ? '' : ` — attempt ${i.attempt} of ${i.attempts}, next in ${duration(i.delayMs / 1000)}`;
    const what = i.kind === 'reconnect' ? `reconnect (${i.reader} reader)` : i.kind;
    return (
      `<li class="incident incident-${i.kind}"><time datetime="${escapeHtml(i.at)}">${escapeHtml(i.at.slice(11, 19))}</time> ` +
      `<strong>${escapeHtml(what)}</strong>${i.code === null ? '' : ` <code>${escapeHtml(i.code)}</code>`}${escapeHtml(attempt)}` +
      `<div class="message">${escapeHtml(i.message)}</div>` +
      `${i.hint === null ? '' : `<div class="hint">${escapeHtml(i.hint)}</div>`}</li>`
    );
  });
  return `<ol>${items.join('')}</ol>`;
}

/** A clustered pipeline's members: who leads, and which chunks each one reads now. */
function cluster(doc) {
  const c = doc.cluster;
  if (c === undefined) return '';
  const lines = [
    `<p>This process is <strong>${escapeHtml(c.member)}</strong>, ${c.role === 'leader' ? 'the leader: it runs the log reader and hands out chunks' : 'a member: it reads chunks'}. ` +
      `Leader: ${c.leader === null ? 'nobody holds the lease' : `<strong>${escapeHtml(c.leader)}</strong>`}.</p>`,
  ];
  if (c.error !== null) lines.push(`<p class="hint">NATS did not answer: ${escapeHtml(c.error)}</p>`);
  const head =
    '<thead><tr><th>member</th><th>role</th><th>host</th><th>pid</th><th>reading now</th><th>chunks written</th>' +
    '<th>handed out</th><th>last report</th></tr></thead>';
  const body = c.members.map(
    (m) =>
      `<tr data-member="${escapeHtml(m.member)}" data-role="${escapeHtml(m.role)}">` +
      `<th scope="row">${escapeHtml(m.member)}</th><td>${escapeHtml(m.role)}</td><td>${escapeHtml(m.host)}</td><td>${escapeHtml(m.pid)}</td>` +
      `<td>${m.reading.length === 0 ? '–' : m.reading.map((r) => `<code>${escapeHtml(r)}</code>`).join(' ')}</td>` +
      `<td>${number(m.chunksWritten)}</td><td>${m.role === 'leader' ? number(m.handedOut) : '–'}</td>` +
      `<td><time datetime="${escapeHtml(m.seenAt)}">${escapeHtml(m.seenAt.slice(11, 19))}</time></td></tr>`,
  );
  lines.push(`<div class="scroll"><table id="members">${head}<tbody>${body.join('')}</tbody></table></div>`);
  return lines.join('');
}

/** The page's sections by element id, each a string of HTML. */
export function renderSections(doc) {
  return {
    header: header(doc),
    overview: overview(doc),
    tables: tables(doc),
    charts: charts(doc),
    checkpoint: checkpoint(doc),
    incidents: incidents(doc),
    cluster: cluster(doc),
  };
}

/** The whole page; with JavaScript off it refreshes itself every `refreshSeconds`. */
export function renderPage(doc, refreshSeconds) {
  const s = renderSections(doc);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(doc.pipeline)} · highwater</title>
<link rel="stylesheet" href="/assets/status-page.css">
<noscript><meta http-equiv="refresh" content="${refreshSeconds}"></noscript>
<script type="module" src="/assets/status-page.js"></script>
</head>
<body>
<header id="header">${s.header}</header>
<p id="connection" class="connection">${`updated ${escapeHtml(doc.generatedAt.slice(11, 19))} UTC`}<noscript> · refreshes every ${refreshSeconds} s</noscript></p>
<main>
<section><h2>Pipeline</h2><div id="overview">${s.overview}</div></section>
${doc.cluster === undefined ? '' : `<section><h2>Cluster members</h2><div id="cluster">${s.cluster}</div></section>\n`}<section><h2>Tables</h2><div id="tables-section">${s.tables}</div></section>
<section><h2>Last minutes</h2><div id="charts" class="charts">${s.charts}</div></section>
<section><h2>Stored checkpoint</h2><div id="checkpoint">${s.checkpoint}</div></section>
<section><h2>Errors, restarts and reconnects</h2><div id="incidents">${s.incidents}</div></section>
</main>
<footer>For machines: <a href="/api/status">/api/status</a> · <a href="/metrics">/metrics</a> · <a href="/health">/health</a> · <a href="/ready">/ready</a></footer>
</body>
</html>
`;
}
