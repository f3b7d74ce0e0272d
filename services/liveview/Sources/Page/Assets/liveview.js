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
