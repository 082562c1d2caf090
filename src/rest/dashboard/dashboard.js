// weir dashboard: reads the job's REST API (docs/rest_api.yaml) about once a second and
// updates the page in place. Plain JavaScript, no framework, no build step.
//
// Pages (by the URL's hash): #/ the jobs; #/jobs/ID/TAB a job, TAB one of graph (default),
// checkpoints, config, exceptions. Each page builds its elements once and keeps references
// to them; a refresh only changes the text, attributes and rows that differ, so nothing
// flickers. Errors from the API are shown above the page, never swallowed.
'use strict';

const REFRESH_MS = 1000;
const SAVEPOINT_POLL_MS = 500;
const ENDED = new Set(['FINISHED', 'FAILED', 'CANCELED']);

// ---- Small helpers ---------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

// el('div.card#x', {title: 't'}, child, 'text', ...)
function el(spec, attrs, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/i);
  const svg = ['svg', 'g', 'rect', 'path', 'text', 'line', 'title', 'tspan'].includes(tag);
  const e = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag)
                : document.createElement(tag);
  for (const [, kind, name] of rest.matchAll(/([.#])([\w-]+)/g)) {
    if (kind === '.') e.classList.add(name); else e.id = name;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'onclick') e.addEventListener('click', v);
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// Setters that touch the DOM only on a change.
function setText(e, text) {
  text = String(text);
  if (e.textContent !== text) e.textContent = text;
}
function setAttr(e, name, value) {
  value = String(value);
  if (e.getAttribute(name) !== value) e.setAttribute(name, value);
}
function setBadge(e, state) {
  setText(e, state);
  setAttr(e, 'class', 'badge ' + state);
}

const fmt = {
  int: (n) => (n == null || n < 0 ? '-' : Math.round(n).toLocaleString('en-US')),
  rate: (n) => (n == null ? '-' : (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)) + '/s'),
  pct: (r) => (r == null ? '-' : Math.round(r * 100) + '%'),
  bytes(n) {
    if (n == null || n < 0) return '-';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + units[i];
  },
  ms(n) {
    if (n == null || n < 0) return '-';
    if (n < 1000) return n + ' ms';
    const s = n / 1000;
    if (s < 60) return s.toFixed(1) + ' s';
    const m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d > 0) return `${d} d ${h % 24} h`;
    if (h > 0) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
    return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  },
  // An event-time watermark (milliseconds), as a UTC time; none before the first one arrives
  // (Long.MIN_VALUE), and the end of input after the last (Long.MAX_VALUE).
  watermark(w) {
    if (w == null) return '-';
    if (w <= -9.2e18) return 'none';
    if (w >= 9.2e18) return 'end of input';
    const d = new Date(w);
    return Number.isNaN(d.getTime()) ? String(w) : d.toISOString().replace('T', ' ').replace('Z', ' UTC');
  },
  time(t) {
    if (!t || t <= 0) return '-';
    const d = new Date(t);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString('en-GB') : d.toLocaleString('en-GB');
  },
};

// ---- The REST API -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;  // the HTTP status; 0 when there was no answer
  }
}

async function api(path, {method = 'GET', body} = {}) {
  const what = `${method} ${path}`;
  let res;
  try {
    // A POST or PATCH always has a body, if an empty one: without Content-Length the server
    // (cpp-httplib) would wait for one until its read timeout.
    const hasBody = method !== 'GET';
    res = await fetch(path, {
      method,
      cache: 'no-store',
      headers: hasBody ? {'Content-Type': 'application/json'} : {},
      body: hasBody ? JSON.stringify(body === undefined ? {} : body) : undefined,
    });
  } catch (e) {
    throw new ApiError(`${what}: no answer from the job's REST API (${e.message}). ` +
                       'Has the job ended, and its process with it?');
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON: reported below */ }
  if (!res.ok) {
    const why = json && Array.isArray(json.errors) ? json.errors.join('; ') : text.slice(0, 300);
    throw new ApiError(`${what}: ${res.status} ${res.statusText}: ${why}`, res.status);
  }
  if (json === null && text) throw new ApiError(`${what}: the answer is not JSON`);
  return json;
}

// Errors shown above the page. A refresh error is replaced by the next refresh's (or removed
// when it succeeds); an action's error stays until dismissed.
const errors = {
  shown: new Map(),
  show(key, message) {
    let box = this.shown.get(key);
    if (!box) {
      const text = el('span');
      box = el('div.error', {}, text,
               el('button', {'aria-label': 'Dismiss', text: '×', onclick: () => this.clear(key)}));
      box.dataset.key = key;
      $('errors').append(box);
      this.shown.set(key, box);
    }
    setText(box.firstChild, message);
  },
  clear(key) {
    const box = this.shown.get(key);
    if (box) { box.remove(); this.shown.delete(key); }
  },
};

// ---- Confirmation -----------------------------------------------------------------------------

function confirmAction(title, text, yes) {
  const dialog = $('confirm');
  setText($('confirm-title'), title);
  setText($('confirm-text'), text);
  setText($('confirm-yes'), yes);
  return new Promise((resolve) => {
    const done = (answer) => {
      $('confirm-yes').onclick = $('confirm-no').onclick = dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    $('confirm-yes').onclick = () => done(true);
    $('confirm-no').onclick = () => done(false);
    dialog.onclose = () => done(false);  // Escape
    dialog.showModal();
  });
}

// ---- Pages ------------------------------------------------------------------------------------

// A page: build() once, refresh() each second (async; its errors are shown), dispose().
class JobsPage {
  constructor(main) {
    this.rows = new Map();
    this.body = el('tbody');
    main.replaceChildren(el('div.card', {},
      el('h2', {text: 'Jobs'}),
      el('div.scroll', {}, el('table', {},
        el('thead', {}, el('tr', {},
          ...['Name', 'Job id', 'Status', 'Started', 'Uptime', 'Restarts', 'Tasks']
            .map((h, i) => el('th' + (i >= 4 ? '.num' : ''), {text: h})))),
        this.body))));
  }

  async refresh() {
    const {jobs} = await api('/jobs/overview');
    const restarts = await Promise.all(jobs.map((j) =>
      api(`/jobs/${j.jid}/metrics?get=numRestarts`).then((m) => (m[0] ? Number(m[0].value) : 0))));
    jobs.forEach((job, i) => {
      let row = this.rows.get(job.jid);
      if (!row) {
        const cells = Array.from({length: 7}, (_, c) => el('td' + (c >= 4 ? '.num' : '')));
        cells[0].append(el('a', {href: `#/jobs/${job.jid}`}));
        cells[1].classList.add('mono');
        cells[2].append(el('span.badge'));
        row = {tr: el('tr', {}, ...cells), cells};
        this.rows.set(job.jid, row);
        this.body.append(row.tr);
      }
      const c = row.cells;
      setText(c[0].firstChild, job.name);
      setText(c[1], job.jid);
      setBadge(c[2].firstChild, job.state);
      setText(c[3], fmt.time(job['start-time']));
      setText(c[4], fmt.ms(job.duration));
      setText(c[5], fmt.int(restarts[i]));
      setText(c[6], `${job.tasks.running} of ${job.tasks.total} running`);
    });
    return jobs.length > 0 && jobs.every((j) => ENDED.has(j.state));
  }
}

const TABS = [['graph', 'Overview'], ['checkpoints', 'Checkpoints'], ['config', 'Configuration'],
              ['exceptions', 'Exceptions']];

class JobPage {
  constructor(main, jid, tab) {
    this.jid = jid;
    this.tab = TABS.some(([t]) => t === tab) ? tab : 'graph';
    this.base = `/jobs/${jid}`;
    this.selected = null;  // vertex id whose subtasks are shown
    this.checkpoint = null;  // id of the checkpoint whose details are shown
    this.checkpointShown = null;  // what was last shown of it, until it changes no more
    this.ended = false;
    this.busy = false;     // an action is under way

    const f = (label, id) => el('span', {}, label + ' ', el('b#' + id, {text: '-'}));
    this.notice = el('div.notice#action-result', {'aria-live': 'polite'});
    this.endNotice = el('div.notice.ended#job-ended', {hidden: ''});
    const head = el('div.card', {},
      el('div.jobhead', {},
        el('div.title', {},
          el('h1#job-name', {text: 'Job'}),
          el('div.facts', {},
            el('span.badge#job-state', {text: '-'}),
            f('id', 'job-id'), f('started', 'job-start'), f('uptime', 'job-uptime'),
            f('restarts', 'job-restarts'))),
        el('div.actions', {},
          this.button('savepoint-button', 'Savepoint', 'secondary', () => this.savepoint(false)),
          this.button('stop-button', 'Stop with savepoint', 'secondary', () => this.savepoint(true)),
          this.button('cancel-button', 'Cancel', 'danger', () => this.cancel()))),
      this.notice, this.endNotice);
    const tile = (id, label) => el('div.tile', {},
      el('div.label', {text: label}), el('div.value#' + id, {text: '-'}), el('div.sub#' + id + '-sub'));
    const tiles = el('div.tiles', {},
      tile('cp-completed', 'Checkpoints completed'), tile('cp-failed', 'Failed'),
      tile('cp-in-progress', 'In progress'), tile('cp-latest', 'Latest completed'),
      tile('cp-restored', 'Restored'));
    const tabs = el('nav.tabs', {}, ...TABS.map(([t, label]) =>
      el('a' + (t === this.tab ? '.active' : ''), {href: `#${this.base}/${t}`, text: label,
                                                   id: 'tab-' + t})));
    this.content = el('div');
    main.replaceChildren(head, tiles, tabs, this.content);
    ({graph: () => this.buildGraphTab(), checkpoints: () => this.buildCheckpointsTab(),
      config: () => this.buildConfigTab(), exceptions: () => this.buildExceptionsTab()})[this.tab]();
  }

  button(id, label, kind, onclick) {
    return el('button.' + kind + '#' + id, {type: 'button', text: label, onclick});
  }

  // ---- Refresh: the job's details first; nothing more once it has ended ----

  async refresh() {
    const job = await api(this.base);
    this.job = job;
    setText($('job-name'), job.name);
    document.title = `${job.name} · weir`;
    setBadge($('job-state'), job.state);
    setText($('job-id'), job.jid);
    setText($('job-start'), fmt.time(job['start-time']));
    setText($('job-uptime'), fmt.ms(job.duration));
    if (ENDED.has(job.state)) {
      this.ended = true;
      for (const b of document.querySelectorAll('.actions button')) b.disabled = true;
      this.endNotice.hidden = false;
      setText(this.endNotice, `The job has ended: ${job.state} at ${fmt.time(job['end-time'])}. ` +
                              'This page no longer refreshes: the job\'s process exits, and its ' +
                              'REST API with it.');
      // An ended job has no checkpoint in progress; the other figures are the last ones read.
      setText($('cp-in-progress'), '0');
      if (this.tab === 'graph') this.updateGraph(job, null);
      return true;
    }
    const wanted = [api(`${this.base}/checkpoints`), api(`${this.base}/metrics?get=numRestarts`),
                    api(`${this.base}/exceptions?maxExceptions=50`)];
    if (this.tab === 'graph') {
      const get = 'numRecordsInPerSecond,numRecordsOutPerSecond,busyTimeMsPerSecond,' +
                  'backPressuredTimeMsPerSecond,idleTimeMsPerSecond,currentInputWatermark';
      wanted.push(Promise.all(job.vertices.map((v) =>
        api(`${this.base}/vertices/${v.id}/subtasks/metrics?get=${get}&agg=min,max,sum`))));
      if (this.selected) {
        wanted.push(api(`${this.base}/vertices/${this.selected}`),
                    api(`${this.base}/vertices/${this.selected}/backpressure`),
                    api(`${this.base}/vertices/${this.selected}/watermarks`));
      }
    } else if (this.tab === 'checkpoints' && this.checkpoint !== null &&
               !(this.checkpointShown && this.checkpointShown.final)) {
      wanted.push(this.checkpointDetails(this.checkpoint));
    } else if (this.tab === 'config') {
      wanted.push(api(`${this.base}/config`),
                  api(`${this.base}/checkpoints/config`).catch((e) => ({error: e.message})));
    }
    const [checkpoints, restarts, exceptions, ...rest] = await Promise.all(wanted);
    setText($('job-restarts'), restarts[0] ? fmt.int(Number(restarts[0].value)) : '0');
    this.updateTiles(checkpoints);
    setText($('tab-exceptions'), `Exceptions (${exceptions.exceptionHistory.entries.length})`);
    if (this.tab === 'graph') this.updateGraph(job, rest[0], rest[1], rest[2], rest[3]);
    if (this.tab === 'checkpoints') {
      this.updateCheckpoints(checkpoints);
      if (rest[0]) this.updateCheckpointDetails(rest[0]);
    }
    if (this.tab === 'config') this.updateConfig(rest[0], rest[1]);
    if (this.tab === 'exceptions') this.updateExceptions(exceptions);
    return false;
  }

  updateTiles(cp) {
    setText($('cp-completed'), fmt.int(cp.counts.completed));
    setText($('cp-completed-sub'), `${fmt.int(cp.counts.total)} triggered`);
    setText($('cp-failed'), fmt.int(cp.counts.failed));
    const failed = cp.latest.failed;
    setText($('cp-failed-sub'), failed ? `latest: #${failed.id} ${failed.failure_message || ''}` : '');
    setText($('cp-in-progress'), fmt.int(cp.counts.in_progress));
    const latest = cp.latest.completed;
    setText($('cp-latest'), latest ? '#' + latest.id : '-');
    setText($('cp-latest-sub'), latest
      ? `${fmt.time(latest.latest_ack_timestamp)} · ${fmt.ms(latest.end_to_end_duration)} · ` +
        fmt.bytes(latest.state_size)
      : 'none yet');
    const restored = cp.latest.restored;
    setText($('cp-restored'), fmt.int(cp.counts.restored));
    setText($('cp-restored-sub'), restored
      ? `#${restored.id} at ${fmt.time(restored.restore_timestamp)}: ${restored.external_path}` : '');
  }

  // ---- Overview tab: the job graph, its vertices, a vertex's subtasks ----

  buildGraphTab() {
    this.graph = el('div.graph');
    this.vertexRows = new Map();
    this.vertexBody = el('tbody');
    this.subtaskTitle = el('h2', {text: 'Subtasks'});
    this.subtaskBody = el('tbody');
    const heads = (names) => el('thead', {}, el('tr', {},
      ...names.map((h, i) => el('th' + (i >= 3 ? '.num' : ''), {text: h}))));
    this.content.replaceChildren(
      el('div.card', {}, el('h2', {text: 'Job graph'}), this.graph,
        el('div.legend', {},
          el('span', {}, el('i.swatch.sw-idle'), 'idle'),
          el('span', {}, el('i.swatch.sw-busy'), 'busy'),
          el('span', {}, el('i.swatch.sw-bp'), 'back-pressured'),
          el('span', {text: 'as the busiest subtask of each vertex; click a vertex for its subtasks'}))),
      el('div.card', {}, el('h2', {text: 'Vertices'}), el('div.scroll', {}, el('table#vertices', {},
        heads(['Name', 'Status', 'Running', 'Parallelism', 'Records in', 'Records out', 'In/s', 'Out/s',
               'Busy (max)', 'Back-pressure (max)', 'Duration', 'Low watermark']),
        this.vertexBody))),
      el('div.card#subtasks-card', {hidden: ''}, this.subtaskTitle, el('div.scroll', {},
        el('table#subtasks', {},
          heads(['Subtask', 'Status', 'Attempt', 'Records in', 'Records out', 'Busy',
                 'Back-pressured', 'Idle', 'Duration', 'Watermark']),
          this.subtaskBody))));
  }

  select(vertexId) {
    this.selected = this.selected === vertexId ? null : vertexId;
    this.subtaskBody.replaceChildren();
    this.subtaskRows = null;
    $('subtasks-card').hidden = !this.selected;
    for (const [id, row] of this.vertexRows) row.tr.classList.toggle('selected', id === this.selected);
    for (const [id, node] of this.nodes || []) node.g.classList.toggle('selected', id === this.selected);
    if (this.selected) refreshSoon();
  }

  // Lays the graph out once: vertices in columns by their distance from a source (rows on a
  // narrow screen), edges with their ship strategy.
  buildGraph(job) {
    const nodes = job.plan.nodes;
    const level = new Map();
    const levelOf = (n) => {
      if (!level.has(n.id)) {
        level.set(n.id, 0);
        const ins = (n.inputs || []).map((i) => levelOf(nodes.find((m) => m.id === i.id) || n) + 1);
        level.set(n.id, Math.max(0, ...ins));
      }
      return level.get(n.id);
    };
    nodes.forEach(levelOf);
    const vertical = this.graph.clientWidth < 560;
    this.vertical = vertical;
    const W = 250, H = 104, GAP_MAIN = 70, GAP_CROSS = 20;
    const slots = new Map();
    const pos = new Map();
    for (const n of nodes) {
      const l = level.get(n.id), k = slots.get(l) || 0;
      slots.set(l, k + 1);
      const main = 10 + l * ((vertical ? H : W) + GAP_MAIN), cross = 10 + k * ((vertical ? W : H) + GAP_CROSS);
      pos.set(n.id, vertical ? {x: cross, y: main} : {x: main, y: cross});
    }
    const width = Math.max(...[...pos.values()].map((p) => p.x + W)) + 10;
    const height = Math.max(...[...pos.values()].map((p) => p.y + H)) + 10;
    // Its natural size, smaller on a narrow screen (CSS max-width), never larger.
    const svg = el('svg', {viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
                           'aria-label': 'The job graph'});
    svg.innerHTML = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" ' +
      'markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" ' +
      'fill="#7a8896"/></marker></defs>';
    for (const n of nodes) {
      for (const input of n.inputs || []) {
        const a = pos.get(input.id), b = pos.get(n.id);
        if (!a) continue;
        const [x1, y1, x2, y2] = vertical ? [a.x + W / 2, a.y + H, b.x + W / 2, b.y]
                                          : [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
        const d = vertical ? `M${x1},${y1} C${x1},${(y1 + y2) / 2} ${x2},${(y1 + y2) / 2} ${x2},${y2 - 2}`
                           : `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2 - 2},${y2}`;
        svg.append(el('path.edge', {d, 'marker-end': 'url(#arrow)'}));
        svg.append(el('text.ship', {x: (x1 + x2) / 2 + (vertical ? 8 : 0), y: (y1 + y2) / 2 - 6,
                                    'text-anchor': vertical ? 'start' : 'middle',
                                    text: input.ship_strategy}));
      }
    }
    this.nodes = new Map();
    for (const n of nodes) {
      const p = pos.get(n.id);
      const operators = n.description.split(' -> ');
      const box = el('rect.box', {x: p.x, y: p.y, width: W, height: H, rx: 6, fill: '#fff'});
      const texts = [];
      const line = (dy, cls, text) => {
        const t = el('text' + cls, {x: p.x + 10, y: p.y + dy, text});
        texts.push(t);
        return t;
      };
      // Chained operators one per line (Flink's "A -> B"), at most three.
      const shown = operators.length > 3 ? [operators[0], '…', operators[operators.length - 1]] : operators;
      // Names that would not fit the box are cut; the whole is the box's tooltip (<title>).
      const fit = (t) => (t.length > 32 ? t.slice(0, 31) + '…' : t);
      const names = shown.map((o, i) => line(18 + i * 15, '.name', fit((i ? '→ ' : '') + o)));
      const par = line(18 + shown.length * 15 + 2, '', `Parallelism ${n.parallelism}`);
      const io = line(H - 24, '', '');
      const load = line(H - 9, '', '');
      const title = el('title', {text: n.description});
      const g = el('g.node', {'data-vertex': n.id}, title, box, ...names, par, io, load);
      g.addEventListener('click', () => this.select(n.id));
      svg.append(g);
      this.nodes.set(n.id, {g, box, io, load, texts});
    }
    this.graph.replaceChildren(svg);
    this.graphFor = job.jid;
  }

  // `metrics` null: the job has ended, its tasks and their metrics are gone; the figures
  // shown last stay, only the states change.
  updateGraph(job, metrics, vertex, backpressure, watermarks) {
    if (this.graphFor !== job.jid || this.vertical !== (this.graph.clientWidth < 560)) {
      this.buildGraph(job);
    }
    if (!metrics && this.vertexRows.size) {
      for (const v of job.vertices) {
        const node = this.nodes.get(v.id), row = this.vertexRows.get(v.id);
        if (node) {
          setAttr(node.box, 'fill', '#fff');
          for (const t of node.texts) t.classList.remove('light');
          setText(node.load, v.status);
        }
        if (row) {
          setBadge(row.cells[1].firstChild, v.status);
          setText(row.cells[2], `${v.tasks.RUNNING}/${v.parallelism}`);
          setText(row.cells[10], fmt.ms(v.duration));
        }
      }
      return;
    }
    metrics = metrics || job.vertices.map(() => []);
    job.vertices.forEach((v, i) => {
      const m = {};
      for (const x of metrics[i]) m[x.id] = x;
      const busy = m.busyTimeMsPerSecond ? m.busyTimeMsPerSecond.max / 1000 : null;
      const bp = m.backPressuredTimeMsPerSecond ? m.backPressuredTimeMsPerSecond.max / 1000 : null;
      const inRate = m.numRecordsInPerSecond ? m.numRecordsInPerSecond.sum : null;
      const outRate = m.numRecordsOutPerSecond ? m.numRecordsOutPerSecond.sum : null;
      // The vertex's low watermark: the least of its subtasks' input watermarks, as Flink's.
      const low = m.currentInputWatermark ? m.currentInputWatermark.min : null;
      const node = this.nodes.get(v.id);
      if (node) {
        const {fill, light} = loadColour(busy, bp);
        setAttr(node.box, 'fill', fill);
        for (const t of node.texts) t.classList.toggle('light', light);
        setText(node.io, `in ${fmt.int(v.metrics['read-records'])} (${fmt.rate(inRate)}) · ` +
                         `out ${fmt.int(v.metrics['write-records'])} (${fmt.rate(outRate)})`);
        setText(node.load, `busy ${fmt.pct(busy)} · back-pressured ${fmt.pct(bp)}`);
      }
      let row = this.vertexRows.get(v.id);
      if (!row) {
        const cells = Array.from({length: 12}, (_, c) => el('td' + (c >= 3 ? '.num' : '')));
        cells[1].append(el('span.badge'));
        cells[8].append(el('span.meter', {}, el('i')), el('span'));
        cells[9].append(el('span.meter.bp', {}, el('i')), el('span'));
        row = {tr: el('tr.clickable', {'data-vertex': v.id}, ...cells), cells};
        row.tr.addEventListener('click', () => this.select(v.id));
        this.vertexRows.set(v.id, row);
        this.vertexBody.append(row.tr);
      }
      const c = row.cells;
      setText(c[0], v.name);
      setBadge(c[1].firstChild, v.status);
      setText(c[2], `${v.tasks.RUNNING}/${v.parallelism}`);
      setText(c[3], v.parallelism);
      setText(c[4], fmt.int(v.metrics['read-records']));
      setText(c[5], fmt.int(v.metrics['write-records']));
      setText(c[6], fmt.rate(inRate));
      setText(c[7], fmt.rate(outRate));
      setMeter(c[8], busy);
      setMeter(c[9], bp);
      setText(c[10], fmt.ms(v.duration));
      setText(c[11], fmt.watermark(low));
      setAttr(c[11], 'title', low == null ? '' : String(low));
    });
    if (vertex && backpressure && vertex.id === this.selected) {
      this.updateSubtasks(vertex, backpressure, watermarks || []);
    }
  }

  updateSubtasks(vertex, backpressure, watermarks) {
    setText(this.subtaskTitle, `Subtasks of ${vertex.name}`);
    if (!this.subtaskRows) this.subtaskRows = [];
    vertex.subtasks.forEach((s, i) => {
      let row = this.subtaskRows[i];
      if (!row) {
        const cells = Array.from({length: 10}, (_, c) => el('td' + (c >= 3 ? '.num' : '')));
        cells[1].append(el('span.badge'));
        cells[5].append(el('span.meter', {}, el('i')), el('span'));
        cells[6].append(el('span.meter.bp', {}, el('i')), el('span'));
        row = {tr: el('tr', {}, ...cells), cells};
        this.subtaskRows[i] = row;
        this.subtaskBody.append(row.tr);
      }
      const b = backpressure.subtasks.find((x) => x.subtask === s.subtask) || {};
      const c = row.cells;
      setText(c[0], s.subtask);
      setBadge(c[1].firstChild, s.status);
      setText(c[2], s.attempt);
      setText(c[3], fmt.int(s.metrics['read-records']));
      setText(c[4], fmt.int(s.metrics['write-records']));
      setMeter(c[5], b.busyRatio);
      setMeter(c[6], b.ratio);
      setText(c[7], fmt.pct(b.idleRatio));
      setText(c[8], fmt.ms(s.duration));
      const w = watermarks.find((x) => x.id === `${s.subtask}.currentInputWatermark`);
      setText(c[9], fmt.watermark(w ? Number(w.value) : null));
      setAttr(c[9], 'title', w ? w.value : '');
    });
  }

  // ---- Checkpoints tab ----

  buildCheckpointsTab() {
    this.historyRows = new Map();
    this.historyBody = el('tbody');
    this.plots = {};
    const plot = (key, title) => {
      const ok = el('path.ok'), failed = el('path.failed');
      const svg = el('svg', {viewBox: '0 0 300 90', preserveAspectRatio: 'none'}, ok, failed);
      const max = el('span'), span = el('span');
      this.plots[key] = {ok, failed, max, span};
      return el('div.plot', {}, el('h3', {text: title}), svg, el('div.scale', {}, span, max));
    };
    this.summaryBody = el('tbody');
    this.content.replaceChildren(
      el('div.card', {}, el('h2', {text: 'Over time'}), el('div.plots', {},
        plot('duration', 'Duration (trigger to completion)'), plot('size', 'Size'),
        plot('alignment', 'Barrier alignment (longest of any subtask)'))),
      el('div.card', {}, el('h2', {text: 'Summary'}), el('div.scroll', {}, el('table', {},
        el('thead', {}, el('tr', {}, ...['', 'Min', 'Average', 'p50', 'p90', 'p99', 'Max']
          .map((h, i) => el('th' + (i ? '.num' : ''), {text: h})))), this.summaryBody))),
      el('div.card', {}, el('h2', {text: 'History'}), el('div.scroll', {}, el('table#history', {},
        el('thead', {}, el('tr', {}, ...['Id', 'Status', 'Type', 'Triggered', 'Duration', 'Size',
                                         'Alignment', 'Acknowledged', 'Path or failure']
          .map((h, i) => el('th' + (i >= 4 && i <= 7 ? '.num' : ''), {text: h})))),
        this.historyBody)),
        el('div.legend', {text: 'click a checkpoint for its operators and subtasks'})),
      this.buildCheckpointCard());
  }

  // One checkpoint, vertex by vertex and subtask by subtask, as Flink's checkpoint details
  // show it: where the time went (the trigger reaching the subtask, alignment, the snapshot
  // on the task thread, writing it) and what each wrote.
  buildCheckpointCard() {
    this.checkpointTitle = el('h2');
    this.checkpointNote = el('p.muted');
    this.checkpointBody = el('tbody');
    const heads = ['Operator / subtask', 'Acknowledged', 'End to end', 'Start delay', 'Alignment',
                   'Sync', 'Async', 'Size', 'Written'];
    const close = el('button.secondary#checkpoint-close', {type: 'button', text: 'Close',
                                                            onclick: () => this.selectCheckpoint(this.checkpoint)});
    this.checkpointCard = el('div.card#checkpoint-card', {hidden: ''},
      el('div.cardhead', {}, this.checkpointTitle, close),
      el('div.scroll', {}, el('table#checkpoint-tasks', {},
        el('thead', {}, el('tr', {}, ...heads.map((h, i) => el('th' + (i >= 2 ? '.num' : ''), {text: h})))),
        this.checkpointBody)),
      this.checkpointNote);
    return this.checkpointCard;
  }

  selectCheckpoint(id) {
    this.checkpoint = this.checkpoint === id ? null : id;
    this.checkpointShown = null;
    this.checkpointBody.replaceChildren();
    this.checkpointCard.hidden = this.checkpoint === null;
    for (const [hid, row] of this.historyRows) row.tr.classList.toggle('selected', hid === this.checkpoint);
    if (this.checkpoint !== null) {
      setText(this.checkpointTitle, `Checkpoint #${id}`);
      setText(this.checkpointNote, 'loading…');
      this.checkpointCard.scrollIntoView({block: 'nearest'});
      refreshSoon();
    }
  }

  // The checkpoint's details and each vertex's subtasks; {gone} once it has left the history.
  async checkpointDetails(id) {
    const path = `${this.base}/checkpoints/details/${id}`;
    try {
      const details = await api(path);
      const vertices = this.job.vertices.filter((v) => details.tasks[v.id]);
      const subtasks = await Promise.all(vertices.map((v) => api(`${path}/subtasks/${v.id}`)));
      return {id, details, vertices, subtasks};
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return {id, gone: true};
      throw e;
    }
  }

  updateCheckpointDetails(d) {
    if (d.id !== this.checkpoint) return;  // another was chosen meanwhile
    if (d.gone) {
      this.checkpointBody.replaceChildren();
      setText(this.checkpointNote, `Checkpoint #${d.id} is no longer in the job's history ` +
                                   '(web.checkpoints.history keeps the latest).');
      this.checkpointShown = {final: true};
      return;
    }
    const c = d.details;
    setText(this.checkpointTitle, `Checkpoint #${c.id}: ${c.status.toLowerCase().replace('_', ' ')}` +
                                  ` · ${c.checkpoint_type === 'CHECKPOINT' ? 'checkpoint' : 'savepoint'}` +
                                  ` · triggered ${fmt.time(c.trigger_timestamp)}`);
    setText(this.checkpointNote, c.status === 'FAILED' ? `Failed: ${c.failure_message || ''}` :
      'Start delay: from the trigger to the first barrier at the subtask (at a source, to the ' +
      'trigger). Sync: the snapshot on the task thread. Async: writing it. Per operator, the ' +
      'largest of its subtasks; sizes are their sums.');
    // Rows are rebuilt while the checkpoint is in progress: a few per vertex, once a second.
    const rows = [];
    const cell = (text, cls = '.num') => el('td' + cls, {text});
    d.vertices.forEach((v, i) => {
      const s = d.subtasks[i], sum = s.summary;
      // Until a subtask acknowledges, the vertex has no figures (its summaries say 0).
      const acked = s.num_acknowledged_subtasks > 0;
      const most = (n) => (acked ? fmt.ms(n) : '-');
      rows.push(el('tr.vertex', {'data-vertex': v.id},
        cell(v.name, ''), cell(`${s.num_acknowledged_subtasks}/${s.num_subtasks}`, ''),
        cell(most(s.end_to_end_duration)), cell(most(sum.start_delay.max)),
        cell(most(sum.alignment.duration.max)), cell(most(sum.checkpoint_duration.sync.max)),
        cell(most(sum.checkpoint_duration.async.max)),
        cell(acked ? fmt.bytes(s.state_size) : '-'), cell(acked ? fmt.bytes(s.checkpointed_size) : '-')));
      for (const t of s.subtasks) {
        const done = t.status === 'completed';
        rows.push(el('tr.subtask', {'data-vertex': v.id, 'data-subtask': t.index},
          cell(`subtask ${t.index}`, '.indent'),
          cell(done ? fmt.time(t.ack_timestamp) : 'pending or failed', ''),
          cell(done ? fmt.ms(t.end_to_end_duration) : '-'), cell(done ? fmt.ms(t.start_delay) : '-'),
          cell(done ? fmt.ms(t.alignment.duration) : '-'), cell(done ? fmt.ms(t.checkpoint.sync) : '-'),
          cell(done ? fmt.ms(t.checkpoint.async) : '-'), cell(done ? fmt.bytes(t.state_size) : '-'),
          cell(done ? fmt.bytes(t.checkpointed_size) : '-')));
      }
    });
    this.checkpointBody.replaceChildren(...rows);
    this.checkpointShown = {final: c.status !== 'IN_PROGRESS'};
  }

  updateCheckpoints(cp) {
    const history = [...cp.history].sort((a, b) => b.id - a.id);
    // Rows in place, newest first; a row's cells change only where the checkpoint did.
    const keep = new Set(history.map((h) => h.id));
    for (const [id, row] of this.historyRows) {
      if (!keep.has(id)) { row.tr.remove(); this.historyRows.delete(id); }
    }
    let before = this.historyBody.firstChild;
    for (const h of history) {
      let row = this.historyRows.get(h.id);
      if (!row) {
        const cells = Array.from({length: 9}, (_, c) => el('td' + (c >= 4 && c <= 7 ? '.num' : '')));
        cells[1].append(el('span.badge'));
        cells[8].classList.add('mono');
        const id = h.id;
        row = {tr: el('tr.clickable', {'data-checkpoint': id, onclick: () => this.selectCheckpoint(id)},
                      ...cells), cells};
        row.tr.classList.toggle('selected', id === this.checkpoint);
        this.historyRows.set(h.id, row);
      }
      if (row.tr !== before) this.historyBody.insertBefore(row.tr, before); else before = before.nextSibling;
      const c = row.cells;
      setText(c[0], h.id);
      setBadge(c[1].firstChild, h.status);
      setText(c[2], h.checkpoint_type === 'CHECKPOINT' ? 'checkpoint' : 'savepoint');
      setText(c[3], fmt.time(h.trigger_timestamp));
      setText(c[4], fmt.ms(h.end_to_end_duration));
      // An incremental checkpoint holds files earlier ones wrote: say what it wrote itself.
      setText(c[5], h.checkpointed_size !== undefined && h.checkpointed_size !== h.state_size
        ? `${fmt.bytes(h.state_size)} (${fmt.bytes(h.checkpointed_size)} new)`
        : fmt.bytes(h.state_size));
      setText(c[6], fmt.ms(h.alignment_duration));
      setText(c[7], `${h.num_acknowledged_subtasks}/${h.num_subtasks}`);
      setText(c[8], h.status === 'FAILED' ? h.failure_message || '' : h.external_path || '');
    }
    const oldest = [...history].reverse();
    this.updatePlot('duration', oldest, (h) => h.end_to_end_duration, fmt.ms);
    this.updatePlot('size', oldest, (h) => h.state_size, fmt.bytes);
    this.updatePlot('alignment', oldest, (h) => h.alignment_duration || 0, fmt.ms);
    const rows = [['Duration', cp.summary.end_to_end_duration, fmt.ms],
                  ['Size', cp.summary.state_size, fmt.bytes],
                  ['Written (checkpointed size)', cp.summary.checkpointed_size, fmt.bytes]];
    if (!this.summaryRows) {
      this.summaryRows = rows.map(() => {
        const cells = Array.from({length: 7}, (_, c) => el('td' + (c ? '.num' : '')));
        this.summaryBody.append(el('tr', {}, ...cells));
        return cells;
      });
    }
    rows.forEach(([name, s, f], i) => {
      const c = this.summaryRows[i];
      [name, f(s.min), f(Math.round(s.avg)), f(s.p50), f(s.p90), f(s.p99), f(s.max)]
        .forEach((v, k) => setText(c[k], v));
    });
  }

  // Bars, oldest left, in a fixed 300 x 90 box: one path for completed, one for failed.
  updatePlot(key, history, value, format) {
    const p = this.plots[key];
    const done = history.filter((h) => h.status !== 'IN_PROGRESS');
    const max = Math.max(1, ...done.map(value));
    const n = Math.max(done.length, 20), w = 300 / n;
    let ok = '', failed = '';
    done.forEach((h, i) => {
      const height = Math.max(1, (value(h) / max) * 86);
      const bar = `M${(i * w + w * 0.1).toFixed(1)},90v${(-height).toFixed(1)}h${(w * 0.8).toFixed(1)}` +
                  `v${height.toFixed(1)}z`;
      if (h.status === 'FAILED') failed += bar; else ok += bar;
    });
    setAttr(p.ok, 'd', ok || 'M0,0');
    setAttr(p.failed, 'd', failed || 'M0,0');
    setText(p.max, `max ${format(max === 1 && !done.some((h) => value(h) >= 1) ? 0 : max)}`);
    setText(p.span, done.length ? `#${done[0].id} to #${done[done.length - 1].id}` : 'none yet');
  }

  // ---- Configuration tab ----

  buildConfigTab() {
    this.checkpointConfig = el('tbody');
    this.jobConfig = el('tbody');
    const table = (body) => el('div.scroll', {}, el('table', {}, body));
    this.content.replaceChildren(
      el('div.card', {}, el('h2', {text: 'Checkpointing'}), table(this.checkpointConfig)),
      el('div.card', {}, el('h2', {text: 'Job configuration'}), table(this.jobConfig)));
  }

  updateConfig(config, checkpointConfig) {
    const flat = (obj, prefix = '') => Object.entries(obj).flatMap(([k, v]) =>
      v && typeof v === 'object' ? flat(v, prefix + k + '.') : [[prefix + k, v]]);
    const fill = (body, pairs) => {
      pairs.forEach(([k, v], i) => {
        let tr = body.children[i];
        if (!tr) { tr = el('tr', {}, el('td.mono'), el('td.wrap.mono')); body.append(tr); }
        setText(tr.children[0], k);
        setText(tr.children[1], v);
      });
      while (body.children.length > pairs.length) body.lastChild.remove();
    };
    fill(this.checkpointConfig, checkpointConfig.error ? [['(none)', checkpointConfig.error]]
                                                       : flat(checkpointConfig));
    const exec = config['execution-config'];
    const user = Object.entries(exec['user-config']).sort(([a], [b]) => a.localeCompare(b));
    fill(this.jobConfig, [['restart-strategy', exec['restart-strategy'] || '-'],
                          ['job-parallelism', exec['job-parallelism']], ...user]);
  }

  // ---- Exceptions tab ----

  buildExceptionsTab() {
    this.exceptionBody = el('tbody');
    this.noExceptions = el('p.muted', {text: 'No exceptions: the job has not failed.'});
    this.content.replaceChildren(el('div.card', {}, el('h2', {text: 'Exceptions, newest first'}),
      this.noExceptions,
      el('div.scroll', {}, el('table#exceptions', {},
        el('thead', {}, el('tr', {}, ...['Time', 'Operator', 'Subtask', 'Task', 'Restarted', 'Exception']
          .map((h) => el('th', {text: h})))),
        this.exceptionBody))));
  }

  updateExceptions(ex) {
    const entries = ex.exceptionHistory.entries;
    this.noExceptions.hidden = entries.length > 0;
    // Newest first: rows are keyed by timestamp and message, so older ones keep their place.
    const key = (e) => e.timestamp + '|' + e.stacktrace;
    const have = new Map([...this.exceptionBody.children].map((tr) => [tr.dataset.key, tr]));
    entries.forEach((e, i) => {
      let tr = have.get(key(e));
      if (!tr) {
        tr = el('tr', {}, el('td', {text: fmt.time(e.timestamp)}), el('td', {text: e.operatorName || '-'}),
                el('td', {text: e.subtaskIndex == null ? '-' : e.subtaskIndex}),
                el('td.wrap', {text: e.taskName || '-'}), el('td', {text: e.restarted ? 'yes' : 'no'}),
                el('td.wrap', {}, el('pre.trace', {text: e.stacktrace})));
        tr.dataset.key = key(e);
      }
      if (this.exceptionBody.children[i] !== tr) this.exceptionBody.insertBefore(tr, this.exceptionBody.children[i] || null);
    });
    while (this.exceptionBody.children.length > entries.length) this.exceptionBody.lastChild.remove();
  }

  // ---- Actions ----

  async savepoint(stop) {
    if (this.busy) return;
    if (stop && !(await confirmAction('Stop the job with a savepoint?',
        'The job takes a savepoint, commits the output it covers and ends FINISHED. ' +
        'Resume it later with --restore and the savepoint\'s path.', 'Stop the job'))) return;
    this.busy = true;
    const what = stop ? 'Stop with savepoint' : 'Savepoint';
    this.notice.className = 'notice';
    setText(this.notice, `${what}: in progress…`);
    errors.clear('action');
    try {
      const {['request-id']: id} = await api(`${this.base}/${stop ? 'stop' : 'savepoints'}`,
                                             {method: 'POST', body: stop ? {drain: false} : {}});
      for (;;) {
        const s = await api(`${this.base}/savepoints/${id}`);
        if (s.status.id === 'COMPLETED') {
          if (s.operation['failure-cause']) {
            throw new ApiError(`${what} failed: ${s.operation['failure-cause']['stack-trace']}`);
          }
          this.notice.className = 'notice done';
          this.notice.replaceChildren(`${what} completed: `,
                                      el('code#savepoint-path', {text: s.operation.location}));
          break;
        }
        await new Promise((r) => setTimeout(r, SAVEPOINT_POLL_MS));
      }
    } catch (e) {
      setText(this.notice, '');
      this.notice.className = 'notice';
      errors.show('action', e.message);
    } finally {
      this.busy = false;
    }
  }

  async cancel() {
    if (!(await confirmAction('Cancel the job?',
        'The job stops at once, without a savepoint. Its checkpoints are kept or deleted as ' +
        'its configuration says (execution.checkpointing.externalized-checkpoint-retention).',
        'Cancel the job'))) return;
    errors.clear('action');
    try {
      await api(`${this.base}?mode=cancel`, {method: 'PATCH'});
      this.notice.className = 'notice';
      setText(this.notice, 'Cancelling…');
    } catch (e) {
      errors.show('action', e.message);
    }
  }
}

// Busy from white to red, back-pressured from grey to black, whichever is larger; as
// Flink's web UI colours its vertices. `light`: the text on it should be white.
function loadColour(busy, bp) {
  if (busy == null && bp == null) return {fill: '#fff', light: false};
  if ((bp || 0) > (busy || 0)) {
    const l = Math.round(90 - bp * 70);
    return {fill: `hsl(0, 0%, ${l}%)`, light: l < 55};
  }
  const l = Math.round(100 - busy * 38);  // at most a light red: the text stays readable
  return {fill: `hsl(0, 100%, ${l}%)`, light: false};
}

function setMeter(cell, ratio) {
  const r = ratio == null ? 0 : Math.max(0, Math.min(1, ratio));
  const bar = cell.firstChild.firstChild;
  const width = Math.round(r * 100) + '%';
  if (bar.style.width !== width) bar.style.width = width;
  setText(cell.lastChild, fmt.pct(ratio));
}

// ---- The refresh loop and the router -----------------------------------------------------------

let page = null;
let timer = null;
let generation = 0;  // a refresh of a page the user has left is dropped

function refreshSoon() {
  clearTimeout(timer);
  timer = setTimeout(tick, 0);
}

async function tick() {
  const mine = generation;
  let ended = false;
  try {
    ended = await page.refresh();
    if (mine !== generation) return;
    errors.clear('refresh');
    $('live').className = ended ? 'live paused' : 'live';
    setText($('live'), ended ? 'ended' : 'live');
  } catch (e) {
    if (mine !== generation) return;
    errors.show('refresh', e.message);
    $('live').className = 'live broken';
    setText($('live'), 'no data');
    if (!(e instanceof ApiError)) throw e;  // a bug of this page: let it show in the console
  } finally {
    if (mine === generation && !ended) {
      clearTimeout(timer);
      timer = setTimeout(tick, REFRESH_MS);
    }
  }
}

async function route() {
  generation++;
  clearTimeout(timer);
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const main = $('main');
  if (parts[0] === 'jobs' && parts[1]) {
    page = new JobPage(main, parts[1], parts[2]);
  } else {
    page = new JobsPage(main);
  }
  tick();
}

async function start() {
  window.addEventListener('hashchange', route);
  let resized = null;
  window.addEventListener('resize', () => {
    clearTimeout(resized);
    resized = setTimeout(() => { if (page && page.job && page.updateGraph && !page.ended) refreshSoon(); }, 200);
  });
  // One job per REST API: open its page directly.
  if (!location.hash || location.hash === '#/' || location.hash === '#') {
    try {
      const {jobs} = await api('/jobs/overview');
      if (jobs.length === 1 && !location.hash) history.replaceState(null, '', `#/jobs/${jobs[0].jid}`);
    } catch (e) {
      errors.show('refresh', e.message);
    }
  }
  api('/config').then((c) => setText($('foot'), `weir ${c['flink-version']} · times in ${c['timezone-name']}`))
    .catch((e) => errors.show('config', e.message));
  route();
}

start();
