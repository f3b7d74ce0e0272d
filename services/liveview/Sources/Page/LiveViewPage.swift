/// The live view's browser page: one self-contained HTML document (no external assets).
///
/// It reads `?token=` from its own URL and connects to `ws(s)://<host>/ws?token=<token>`.
/// Protocol (JSON text frames):
/// - server → page: `hello {topics, topic}`, `event {topic, partition, offset, timestamp, key, value}`,
///   `stats {rate, matchedRate, dropped}` (once a second), `dropped {count}`, `error {message}`.
/// - page → server: `subscribe {topic, filters: {eventType?, event?, app?, country?, text?}}` on every
///   hello, Apply and topic change; `pause`; `resume`.
///
/// Every row is `<div class="event-row" data-message-id="<value.messageId>">` (for
/// `beacon.events.invalid`, the messageId of `value.payload`), newest first, at most 500.
/// Topic and filters are mirrored into the page URL, so a reload or a shared link keeps them
/// (`?token=…&topic=…&type=track&event=…&app=…&country=DE&q=…`).
enum LiveViewPage {
    static let html: String = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Beacon · Live view</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f6f7f9; --panel: #ffffff; --line: #e3e6eb; --text: #1d2330; --muted: #6b7385;
  --head: #1f2430; --head-text: #e8ebf1; --accent: #4f5bd5; --hover: #f1f3ff; --open: #eef0fb;
  --ok: #22a06b; --warn: #c77700; --bad: #d1394b;
  --mono: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { height: 100%; margin: 0; overflow: hidden; }
body { display: flex; flex-direction: column; background: var(--bg); color: var(--text);
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
button, input, select { font: inherit; color: inherit; }
header.bar { display: flex; align-items: center; gap: 14px; padding: 8px 14px; background: var(--head); color: var(--head-text); flex-wrap: wrap; }
.brand { font-weight: 650; font-size: 14px; letter-spacing: .2px; display: flex; align-items: center; gap: 7px; white-space: nowrap; }
.brand .logo { width: 12px; height: 12px; border-radius: 50%; background: radial-gradient(circle at 35% 35%, #ffd36b, #f08c00); box-shadow: 0 0 0 3px rgba(240,140,0,.25); }
.brand .sub { color: #9aa3b5; font-weight: 400; }
.bar label { display: flex; align-items: center; gap: 6px; color: #9aa3b5; }
.bar select { background: #2b3242; color: var(--head-text); border: 1px solid #3b4457; border-radius: 5px; padding: 3px 6px; min-width: 220px; }
.bar button { background: #2b3242; color: var(--head-text); border: 1px solid #3b4457; border-radius: 5px; padding: 3px 12px; cursor: pointer; }
.bar button:hover { background: #353d50; }
.bar button.paused { background: var(--warn); border-color: var(--warn); color: #fff; }
.status { display: flex; align-items: center; gap: 6px; white-space: nowrap; cursor: default; }
.status .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--muted); }
.status.up .dot { background: var(--ok); box-shadow: 0 0 0 3px rgba(34,160,107,.25); }
.status.connecting .dot { background: var(--warn); }
.status.down .dot { background: var(--bad); }
.status.down { cursor: pointer; }
.stats { margin-left: auto; display: flex; gap: 14px; color: #9aa3b5; white-space: nowrap; font-variant-numeric: tabular-nums; }
.stats b { color: var(--head-text); font-weight: 600; }
.stats .has-drops b { color: #ffb347; }
form.filters { display: flex; gap: 8px; align-items: center; padding: 7px 14px; background: var(--panel); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
form.filters input, form.filters select { border: 1px solid var(--line); border-radius: 5px; padding: 4px 7px; background: #fff; }
form.filters input:focus, form.filters select:focus { outline: 2px solid rgba(79,91,213,.35); border-color: var(--accent); }
form.filters .grow { flex: 1; min-width: 180px; }
#f-event { width: 180px; } #f-app { width: 120px; } #f-country { width: 84px; text-transform: uppercase; }
#f-country::placeholder { text-transform: none; }
form.filters button { border: 1px solid var(--line); background: #fff; border-radius: 5px; padding: 4px 12px; cursor: pointer; }
form.filters button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
form.filters .hint { color: var(--muted); font-size: 12px; white-space: nowrap; }
.notice { display: flex; align-items: center; gap: 10px; padding: 6px 14px; font-weight: 500; border-bottom: 1px solid var(--line); }
.notice.warn { background: #fff4e0; color: #7a4a00; }
.notice.error { background: #fde8eb; color: #8a1526; }
.notice.info { background: #eaf1ff; color: #1e3a8a; }
.notice button { margin-left: auto; border: 0; background: transparent; cursor: pointer; font-size: 15px; color: inherit; }
.grid { display: grid; grid-template-columns: 92px 78px minmax(160px, 2fr) minmax(80px, 1fr) minmax(120px, 1.3fr) 64px minmax(140px, 1.3fr) 104px; gap: 0 12px; align-items: center; }
.cols > span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.cols { padding: 5px 14px; color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .5px; background: var(--panel); border-bottom: 1px solid var(--line); }
main#list { flex: 1; overflow-y: auto; background: var(--panel); position: relative; }
.event-row { border-bottom: 1px solid var(--line); }
.event-row > .summary { padding: 3px 14px; cursor: pointer; min-height: 25px; }
.event-row > .summary > span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.event-row > .summary:hover { background: var(--hover); }
.event-row.open > .summary { background: var(--open); }
.event-row.fresh > .summary { animation: fresh .9s ease-out; }
@keyframes fresh { from { background: #fff6cc; } to { background: transparent; } }
.event-row:focus { outline: none; } .event-row:focus-visible > .summary { outline: 2px solid var(--accent); outline-offset: -2px; }
.mono { font-family: var(--mono); font-size: 12px; }
.muted { color: var(--muted); }
.anon { font-style: italic; }
.time { font-family: var(--mono); font-size: 12px; color: var(--muted); }
.ev-name { font-weight: 550; }
.reason { color: var(--bad); font-weight: 500; }
.po { font-family: var(--mono); font-size: 12px; color: var(--muted); text-align: right; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11px; font-weight: 600; line-height: 18px; background: #eceef3; color: #4a5263; }
.t-track { background: #e3ecff; color: #2446b8; } .t-identify { background: #f0e6ff; color: #6b2bb8; }
.t-page { background: #dff5e9; color: #17774c; } .t-screen { background: #dcf3f5; color: #136b75; }
.t-group { background: #fff0dc; color: #9a5200; } .t-alias { background: #eceef3; color: #4a5263; }
.t-invalid { background: #fde3e6; color: #b0203a; }
.cc { display: inline-block; min-width: 26px; text-align: center; font-family: var(--mono); font-size: 11px; border: 1px solid var(--line); border-radius: 4px; padding: 0 3px; }
.detail { margin: 0; padding: 8px 14px 12px 118px; background: #fafbfd; border-top: 1px dashed var(--line); position: relative; }
.detail pre { margin: 0; font-family: var(--mono); font-size: 12px; line-height: 1.45; white-space: pre-wrap; word-break: break-word; }
.detail .tools { position: absolute; right: 14px; top: 8px; display: flex; gap: 6px; }
.detail .tools button { border: 1px solid var(--line); background: #fff; border-radius: 4px; padding: 1px 8px; font-size: 12px; cursor: pointer; }
.j-key { color: #7a3e9d; } .j-str { color: #1a7f37; } .j-num { color: #0550ae; } .j-bool { color: #b35900; } .j-null { color: #8c959f; }
#empty { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center; color: var(--muted); pointer-events: none; text-align: center; padding: 20px; }
#empty[hidden] { display: none; }
</style>
</head>
<body>
<header class="bar">
  <div class="brand"><span class="logo"></span>Beacon <span class="sub">live view</span></div>
  <label>Topic <select id="topic" title="Kafka topic to tail"><option value="">(connecting…)</option></select></label>
  <button id="pause" type="button" title="Stop the list; the server stops sending">Pause</button>
  <button id="clear" type="button" title="Empty the list">Clear</button>
  <div id="status" class="status connecting" title=""><span class="dot"></span><span id="conn">connecting…</span></div>
  <div class="stats">
    <span title="events per second on the topic"><b id="rate">–</b> events/s</span>
    <span title="events per second matching the filters, sent to this browser"><b id="matched">–</b> matched/s</span>
    <span id="dropped-box" title="events the server dropped because this browser was too slow"><b id="dropped">0</b> dropped</span>
    <span title="rows in the list (at most 500)"><b id="shown">0</b> shown</span>
  </div>
</header>
<form id="filters" class="filters" autocomplete="off">
  <select id="f-type" title="event type">
    <option value="">any type</option><option>track</option><option>identify</option><option>page</option>
    <option>screen</option><option>group</option><option>alias</option>
  </select>
  <input id="f-event" placeholder="event name" title="event name (track) or page/screen name">
  <input id="f-app" placeholder="app" title="app name">
  <input id="f-country" placeholder="country" maxlength="2" title="ISO country code, e.g. DE">
  <input id="f-text" class="grow" placeholder="free text (searches the whole event)" type="search">
  <button type="submit" class="primary">Apply</button>
  <button type="button" id="reset">Reset</button>
  <span class="hint" id="filter-hint"></span>
</form>
<div id="notice" class="notice" hidden><span id="notice-text"></span><button type="button" id="notice-close" title="Dismiss">×</button></div>
<div class="cols grid"><span>Time</span><span>Type</span><span>Event</span><span>App</span><span>User</span><span>Country</span><span>Device</span><span style="text-align:right" title="Kafka partition and offset">Part@offset</span></div>
<main id="list" aria-live="off"><div id="empty">Connecting…</div></main>
<script>
(() => {
  'use strict';
  const MAX_ROWS = 500;
  const $ = (id) => document.getElementById(id);
  const query = new URLSearchParams(location.search);
  const token = query.get('token') || '';

  const state = {
    ws: null, ready: false, everConnected: false, attempt: 0, retryTimer: null, countdownTimer: null,
    topics: [], topic: query.get('topic') || '',
    filters: {
      eventType: query.get('type') || '', event: query.get('event') || '', app: query.get('app') || '',
      country: (query.get('country') || '').toUpperCase(), text: query.get('q') || ''
    },
    paused: false, held: [], queue: [], flushScheduled: false, lastStatsAt: 0, droppedStats: 0, droppedSum: 0, noticeTimer: null
  };

  const list = $('list'), empty = $('empty');

  // ---- connection -------------------------------------------------------------------------
  function wsURL() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return scheme + '//' + location.host + '/ws' + (token ? '?token=' + encodeURIComponent(token) : '');
  }

  function connect() {
    clearTimeout(state.retryTimer); clearInterval(state.countdownTimer);
    setStatus('connecting', 'connecting…');
    let ws;
    try { ws = new WebSocket(wsURL()); } catch (e) { reconnectLater(0, String(e && e.message || e)); return; }
    state.ws = ws; state.ready = false;
    ws.onopen = () => { if (ws === state.ws) setStatus('connecting', 'connected, waiting for server…'); };
    ws.onmessage = (e) => {
      if (ws !== state.ws || typeof e.data !== 'string') return;
      let msg;
      try { msg = JSON.parse(e.data); } catch (_) { return; }
      if (msg && typeof msg === 'object') handle(msg);
    };
    ws.onclose = (e) => {
      if (ws !== state.ws) return;
      state.ws = null; state.ready = false;
      reconnectLater(e.code, e.reason);
    };
    ws.onerror = () => {};  // a close event follows
  }

  function reconnectLater(code, reason) {
    const base = Math.min(15000, 500 * Math.pow(2, state.attempt));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    state.attempt += 1;
    let why = reason ? ' (' + reason + ')' : '';
    if (!why && !state.everConnected && !token) why = ' (no ?token= in the page URL?)';
    const until = Date.now() + delay;
    const tick = () => {
      const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      setStatus('down', 'disconnected' + why + ' — retrying in ' + s + 's', 'click to retry now' + (code ? ' · close code ' + code : ''));
    };
    tick();
    state.countdownTimer = setInterval(tick, 1000);
    state.retryTimer = setTimeout(connect, delay);
    $('rate').textContent = '–'; $('matched').textContent = '–';
    updateEmpty();
  }

  $('status').addEventListener('click', () => { if (!state.ws) connect(); });

  function send(obj) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) { state.ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function subscribe() {
    const filters = {};
    for (const [k, v] of Object.entries(state.filters)) if (v) filters[k] = v;
    send({ type: 'subscribe', topic: state.topic, filters });
    if (state.paused) send({ type: 'pause' });
    updateFilterHint();
    updateEmpty();
  }

  function handle(msg) {
    switch (msg.type) {
      case 'hello': {
        state.ready = true; state.everConnected = true; state.attempt = 0;
        state.topics = Array.isArray(msg.topics) ? msg.topics.map(String) : [];
        if (!state.topic || (state.topics.length && !state.topics.includes(state.topic))) {
          state.topic = msg.topic ? String(msg.topic) : (state.topics[0] || '');
        }
        fillTopics();
        setStatus('up', 'connected', wsURL().replace(/token=[^&]*/, 'token=…'));
        subscribe();
        syncURL();
        break;
      }
      case 'event':
        // stragglers of the previous topic, sent before the server saw our new subscribe
        if (msg.topic !== undefined && state.topic && String(msg.topic) !== state.topic) break;
        if (state.paused) { state.held.push(msg); if (state.held.length > MAX_ROWS) state.held.shift(); updatePausedStatus(); }
        else enqueue(msg);
        break;
      case 'stats': {
        state.lastStatsAt = Date.now();
        $('rate').textContent = fmtRate(msg.rate);
        $('matched').textContent = fmtRate(msg.matchedRate);
        state.droppedStats = Math.max(state.droppedStats, Number(msg.dropped) || 0);
        showDropped();
        break;
      }
      case 'dropped': {
        const n = Number(msg.count) || 0;
        state.droppedSum += n;
        const total = showDropped();
        const text = fmtTime(new Date()).slice(0, 8) + ' · ' + n.toLocaleString() + ' event' + (n === 1 ? '' : 's') +
          ' dropped (browser too slow)' + (total > n ? ' — ' + total.toLocaleString() + ' in total' : '');
        notice('warn', text, 20000);
        break;
      }
      case 'error':
        notice('error', 'Server: ' + String(msg.message || 'error'));
        break;
    }
  }

  // the server's running total and the sum of its `dropped` notices; whichever is ahead
  function showDropped() {
    const total = Math.max(state.droppedStats, state.droppedSum);
    $('dropped').textContent = total.toLocaleString();
    $('dropped-box').classList.toggle('has-drops', total > 0);
    return total;
  }

  function fmtRate(x) {
    const n = Number(x);
    if (!isFinite(n)) return '–';
    return n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString();
  }

  // stats go stale when the server stops sending them
  setInterval(() => {
    if (state.ready && state.lastStatsAt && Date.now() - state.lastStatsAt > 3500) {
      $('rate').textContent = '–'; $('matched').textContent = '–';
    }
  }, 1000);

  function setStatus(kind, text, title) {
    const el = $('status');
    el.className = 'status ' + kind;
    el.title = title || '';
    $('conn').textContent = text + (kind === 'up' && state.paused ? ' · paused' : '');
  }

  function updatePausedStatus() {
    if (!state.ready) return;
    const n = state.held.length;
    $('conn').textContent = 'connected' + (state.paused ? ' · paused' + (n ? ' (' + n + ' held)' : '') : '');
  }

  // ---- topics & filters ----------------------------------------------------------------------
  function fillTopics() {
    const sel = $('topic');
    const topics = state.topics.slice();
    if (state.topic && !topics.includes(state.topic)) topics.unshift(state.topic);
    sel.textContent = '';
    for (const t of topics) {
      const o = document.createElement('option');
      o.value = t; o.textContent = t;
      sel.appendChild(o);
    }
    if (!topics.length) { const o = document.createElement('option'); o.value = ''; o.textContent = '(no topics)'; sel.appendChild(o); }
    sel.value = state.topic;
  }

  function readFilters() {
    return {
      eventType: $('f-type').value.trim(),
      event: $('f-event').value.trim(),
      app: $('f-app').value.trim(),
      country: $('f-country').value.trim().toUpperCase(),
      text: $('f-text').value.trim()
    };
  }

  function writeFilters() {
    $('f-type').value = state.filters.eventType;
    $('f-event').value = state.filters.event;
    $('f-app').value = state.filters.app;
    $('f-country').value = state.filters.country;
    $('f-text').value = state.filters.text;
  }

  function syncURL() {
    const q = new URLSearchParams();
    if (token) q.set('token', token);
    if (state.topic) q.set('topic', state.topic);
    const f = state.filters;
    if (f.eventType) q.set('type', f.eventType);
    if (f.event) q.set('event', f.event);
    if (f.app) q.set('app', f.app);
    if (f.country) q.set('country', f.country);
    if (f.text) q.set('q', f.text);
    try { history.replaceState(null, '', location.pathname + '?' + q.toString() + location.hash); } catch (_) {}
  }

  function updateFilterHint() {
    const f = state.filters;
    const parts = [];
    if (f.eventType) parts.push('type=' + f.eventType);
    if (f.event) parts.push('event=' + f.event);
    if (f.app) parts.push('app=' + f.app);
    if (f.country) parts.push('country=' + f.country);
    if (f.text) parts.push('“' + f.text + '”');
    $('filter-hint').textContent = parts.length ? 'filtering: ' + parts.join(', ') : '';
  }

  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    state.filters = readFilters();
    writeFilters();
    clearList();
    syncURL();
    subscribe();
  });

  $('reset').addEventListener('click', () => {
    state.filters = { eventType: '', event: '', app: '', country: '', text: '' };
    writeFilters(); clearList(); syncURL(); subscribe();
  });

  $('topic').addEventListener('change', () => {
    state.topic = $('topic').value;
    clearList(); syncURL(); subscribe();
  });

  $('pause').addEventListener('click', () => {
    state.paused = !state.paused;
    const b = $('pause');
    b.textContent = state.paused ? 'Resume' : 'Pause';
    b.classList.toggle('paused', state.paused);
    send({ type: state.paused ? 'pause' : 'resume' });
    if (!state.paused && state.held.length) { const held = state.held; state.held = []; for (const m of held) enqueue(m); }
    if (state.ready) updatePausedStatus();
    updateEmpty();
  });

  $('clear').addEventListener('click', clearList);

  function clearList() {
    state.queue = []; state.held = [];
    for (const row of Array.from(list.querySelectorAll('.event-row'))) row.remove();
    updateCount();
    if (state.ready) updatePausedStatus();
  }

  // ---- notices ----------------------------------------------------------------------------------
  let noticeOnClose = null;
  function notice(kind, text, autoHideMs, onClose) {
    const el = $('notice');
    el.className = 'notice ' + kind;
    $('notice-text').textContent = text;
    el.hidden = false;
    noticeOnClose = onClose || null;
    clearTimeout(state.noticeTimer);
    if (autoHideMs) state.noticeTimer = setTimeout(hideNotice, autoHideMs);
  }
  function hideNotice() {
    $('notice').hidden = true;
    clearTimeout(state.noticeTimer);
    if (noticeOnClose) { const f = noticeOnClose; noticeOnClose = null; f(); }
  }
  $('notice-close').addEventListener('click', hideNotice);

  // ---- rendering ---------------------------------------------------------------------------------
  function enqueue(msg) {
    state.queue.push(msg);
    if (state.queue.length > MAX_ROWS) state.queue.splice(0, state.queue.length - MAX_ROWS);
    if (!state.flushScheduled) {
      state.flushScheduled = true;
      // requestAnimationFrame batches bursts; the timer covers hidden tabs, where frames stop.
      requestAnimationFrame(flush);
      setTimeout(flush, 250);
    }
  }

  function flush() {
    if (!state.flushScheduled) return;
    state.flushScheduled = false;
    const items = state.queue;
    state.queue = [];
    if (!items.length) return;
    const frag = document.createDocumentFragment();
    for (let i = items.length - 1; i >= 0; i--) {
      try { frag.appendChild(renderRow(items[i])); } catch (e) { console.warn('could not render event', e, items[i]); }
    }
    const keepTop = list.scrollTop, before = list.scrollHeight;
    list.insertBefore(frag, list.firstChild);
    const grown = list.scrollHeight - before;
    let rows = list.querySelectorAll('.event-row');
    for (let i = rows.length - 1; i >= MAX_ROWS; i--) rows[i].remove();
    // a reader scrolled down keeps their place while new rows arrive on top
    if (keepTop > 0) list.scrollTop = keepTop + grown;
    updateCount();
  }

  function updateCount() {
    $('shown').textContent = list.querySelectorAll('.event-row').length.toLocaleString();
    updateEmpty();
  }

  function updateEmpty() {
    const hasRows = !!list.querySelector('.event-row');
    empty.hidden = hasRows;
    if (hasRows) return;
    if (!state.ready) { empty.textContent = state.everConnected ? 'Disconnected — reconnecting…' : 'Connecting…'; return; }
    if (state.paused) { empty.textContent = 'Paused.'; return; }
    const f = state.filters;
    const any = f.eventType || f.event || f.app || f.country || f.text;
    empty.textContent = 'Waiting for ' + (any ? 'matching ' : '') + 'events on ' + (state.topic || 'the topic') + '…';
  }

  const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
  const str = (x) => (x === undefined || x === null) ? '' : String(x);

  function pad(n, w) { return String(n).padStart(w, '0'); }
  function toDate(t) {
    if (t === undefined || t === null || t === '') return null;
    const d = typeof t === 'number' ? new Date(t) : new Date(String(t));
    return isNaN(d.getTime()) ? null : d;
  }
  function fmtTime(d) {
    return pad(d.getHours(), 2) + ':' + pad(d.getMinutes(), 2) + ':' + pad(d.getSeconds(), 2) + '.' + pad(d.getMilliseconds(), 3);
  }

  function cell(cls, text, title) {
    const s = document.createElement('span');
    if (cls) s.className = cls;
    s.textContent = text;
    if (title) s.title = title;
    return s;
  }

  function summaryOf(msg) {
    const value = msg.value;
    const invalid = isObj(value) && typeof value.reason === 'string' && ('payload' in value || /\.invalid$/.test(str(msg.topic)));
    const ev = invalid ? (isObj(value.payload) ? value.payload : {}) : (isObj(value) ? value : {});
    const ctx = isObj(ev.context) ? ev.context : {};
    const enr = isObj(ev.enrichment) ? ev.enrichment : {};
    const geo = isObj(enr.geo) ? enr.geo : {};
    const dev = isObj(enr.device) ? enr.device : {};
    const props = isObj(ev.properties) ? ev.properties : {};
    const type = str(ev.type);
    let name = '';
    switch (type) {
      case 'track': name = str(ev.event); break;
      case 'page': case 'screen':
        name = str(ev.name || props.name || props.title || (isObj(ctx.page) ? ctx.page.path : '') || props.path); break;
      case 'identify': {
        const traits = isObj(ev.traits) ? ev.traits : (isObj(ctx.traits) ? ctx.traits : {});
        name = str(traits.email || traits.name || ''); break;
      }
      case 'group': name = ev.groupId !== undefined ? 'group ' + str(ev.groupId) : ''; break;
      case 'alias': name = ev.previousId !== undefined ? str(ev.previousId) + ' → ' + str(ev.userId || ev.anonymousId || '?') : ''; break;
      default: name = str(ev.event || ev.name);
    }
    if (!isObj(value)) name = str(value);
    const when = toDate(ev.timestamp) || toDate(ev.receivedAt) || toDate(msg.timestamp);
    const timeTitle = [
      ev.timestamp !== undefined ? 'timestamp ' + str(ev.timestamp) : '',
      ev.receivedAt !== undefined ? 'received ' + str(ev.receivedAt) : '',
      msg.timestamp !== undefined && toDate(msg.timestamp) ? 'kafka ' + toDate(msg.timestamp).toISOString() : ''
    ].filter(Boolean).join('\n');
    const app = str(ev.app || (isObj(ctx.app) ? ctx.app.name : ''));
    const user = ev.userId !== undefined && ev.userId !== null && ev.userId !== '' ? str(ev.userId) : '';
    const anon = str(ev.anonymousId);
    const deviceType = str(dev.type);
    const devDetail = [str(dev.browserFamily), str(dev.osFamily)].filter(Boolean).join(' / ');
    return {
      invalid, type, name, when, timeTitle, app, user, anon,
      messageId: str(isObj(value) && value.messageId !== undefined ? value.messageId : ev.messageId),
      reason: invalid ? str(value.reason) : '',
      country: str(geo.countryCode),
      countryTitle: [str(geo.city), str(geo.countryName || geo.country)].filter(Boolean).join(', '),
      deviceType, devDetail
    };
  }

  function renderRow(msg) {
    const s = summaryOf(msg);
    const row = document.createElement('div');
    row.className = 'event-row fresh';
    row.dataset.messageId = s.messageId;
    row.dataset.type = s.invalid ? 'invalid' : s.type;
    row.tabIndex = 0;
    row._msg = msg;
    const sum = document.createElement('div');
    sum.className = 'summary grid';

    sum.appendChild(cell('time', s.when ? fmtTime(s.when) : '—', s.timeTitle));

    const typeCell = document.createElement('span');
    const badge = cell('badge t-' + (s.invalid ? 'invalid' : (s.type || 'unknown')), s.invalid ? 'invalid' : (s.type || '?'),
      s.invalid && s.type ? 'invalid ' + s.type : '');
    typeCell.appendChild(badge);
    sum.appendChild(typeCell);

    if (s.invalid) {
      const c = cell('', '', s.reason + (s.name ? ' — ' + s.name : ''));
      c.appendChild(cell('reason', s.reason));
      if (s.name) c.appendChild(cell('muted', ' · ' + s.name));
      sum.appendChild(c);
    } else {
      sum.appendChild(cell('ev-name', s.name || '—', s.name));
    }
    sum.appendChild(cell('', s.app || '—', s.app));
    if (s.user) sum.appendChild(cell('mono', s.user, 'userId ' + s.user + (s.anon ? '\nanonymousId ' + s.anon : '')));
    else sum.appendChild(cell('mono muted anon', s.anon || '—', s.anon ? 'anonymousId ' + s.anon : ''));

    const cc = document.createElement('span');
    if (s.country) { const b = cell('cc', s.country, s.countryTitle); cc.appendChild(b); } else cc.textContent = '—';
    sum.appendChild(cc);

    const d = cell('', '', s.devDetail);
    d.textContent = s.deviceType || (s.devDetail ? '' : '—');
    if (s.devDetail) d.appendChild(cell('muted', (s.deviceType ? ' · ' : '') + s.devDetail));
    sum.appendChild(d);

    const po = (msg.partition !== undefined ? 'p' + str(msg.partition) : '') + (msg.offset !== undefined ? '@' + str(msg.offset) : '');
    sum.appendChild(cell('po', po || '—', (msg.key !== undefined && msg.key !== null ? 'key ' + str(msg.key) + '\n' : '') + str(msg.topic)));

    row.appendChild(sum);
    return row;
  }

  function toggle(row) {
    const open = !row.classList.contains('open');
    row.classList.toggle('open', open);
    let detail = row.querySelector(':scope > .detail');
    if (open && !detail) {
      const m = row._msg || {};
      const envelope = { topic: m.topic, partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: m.key, value: m.value };
      detail = document.createElement('div');
      detail.className = 'detail';
      const tools = document.createElement('div');
      tools.className = 'tools';
      const copy = document.createElement('button');
      copy.type = 'button'; copy.textContent = 'Copy JSON';
      copy.addEventListener('click', (e) => { e.stopPropagation(); copyText(JSON.stringify(m.value, null, 2), copy); });
      tools.appendChild(copy);
      const pre = document.createElement('pre');
      pre.className = 'json';
      pre.innerHTML = highlight(envelope, 0);
      detail.appendChild(tools);
      detail.appendChild(pre);
      row.appendChild(detail);
    }
    if (detail) detail.hidden = !open;
  }

  list.addEventListener('click', (e) => {
    const sum = e.target.closest('.summary');
    if (sum && list.contains(sum)) toggle(sum.parentElement);
  });
  list.addEventListener('keydown', (e) => {
    if ((e.key === 'Enter' || e.key === ' ') && e.target.classList && e.target.classList.contains('event-row')) {
      e.preventDefault(); toggle(e.target);
    }
  });

  function copyText(text, button) {
    const done = () => { const t = button.textContent; button.textContent = 'Copied'; setTimeout(() => { button.textContent = t; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, () => {}); return; }
    const ta = document.createElement('textarea');
    ta.value = text; ta.style.position = 'fixed'; ta.style.opacity = '0';
    document.body.appendChild(ta); ta.select();
    try { document.execCommand('copy'); done(); } catch (_) {}
    ta.remove();
  }

  function esc(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  function highlight(v, depth) {
    if (v === null) return '<span class="j-null">null</span>';
    if (v === undefined) return '<span class="j-null">null</span>';
    switch (typeof v) {
      case 'string': return '<span class="j-str">' + esc(JSON.stringify(v)) + '</span>';
      case 'number': return '<span class="j-num">' + (isFinite(v) ? String(v) : 'null') + '</span>';
      case 'boolean': return '<span class="j-bool">' + v + '</span>';
      case 'object': break;
      default: return esc(JSON.stringify(String(v)));
    }
    const inner = '  '.repeat(depth + 1), outer = '  '.repeat(depth);
    if (Array.isArray(v)) {
      if (!v.length) return '[]';
      return '[\n' + v.map((x) => inner + highlight(x, depth + 1)).join(',\n') + '\n' + outer + ']';
    }
    const keys = Object.keys(v).filter((k) => v[k] !== undefined);
    if (!keys.length) return '{}';
    return '{\n' + keys.map((k) => inner + '<span class="j-key">' + esc(JSON.stringify(k)) + '</span>: ' + highlight(v[k], depth + 1)).join(',\n') + '\n' + outer + '}';
  }

  // ---- start ------------------------------------------------------------------------------------
  writeFilters();
  updateFilterHint();
  if (state.topic) fillTopics();
  updateEmpty();
  connect();
})();
</script>
</body>
</html>
"""#
}
