// The turnpike console: plain DOM, no framework, no CDN. Every value from the
// server goes into the page through textContent (never innerHTML).
'use strict';

const state = { csrf: '', me: null, view: 'dashboard', timer: null, history: [], last: null };
const $ = (id) => document.getElementById(id);
const VIEWS = ['login', 'dashboard', 'sessions', 'users', 'secrets', 'realm'];

async function api(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET') opts.headers['X-CSRF-Token'] = state.csrf;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch('/api/v1/' + path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (r.status === 401 && path !== 'login') showLogin();
  if (!r.ok) throw new Error((data && data.error) || ('HTTP ' + r.status));
  return data;
}

function say(text, ok) {
  const m = $('message');
  m.textContent = text;
  m.className = ok ? 'ok' : '';
}

function cell(tr, text) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  tr.appendChild(td);
  return td;
}

function button(td, label, aria, fn) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.setAttribute('aria-label', aria);
  b.addEventListener('click', fn);
  td.appendChild(b);
  return b;
}

function bytes(n) {
  if (n === undefined) return '-';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n : n.toFixed(1)) + ' ' + u[i];
}

function show(view) {
  state.view = view;
  for (const v of VIEWS) $('view-' + v).hidden = v !== view;
  for (const b of document.querySelectorAll('nav button[data-view]'))
    b.setAttribute('aria-current', b.dataset.view === view ? 'page' : 'false');
  clearInterval(state.timer);
  const refresh = { dashboard: loadStatus, sessions: loadSessions, users: loadUsers,
    secrets: loadSecrets, realm: loadRealm }[view];
  if (!refresh) return;
  refresh().catch((e) => say(e.message));
  if (view === 'dashboard' || view === 'sessions')
    state.timer = setInterval(() => refresh().catch((e) => say(e.message)), 2000);
}

function showLogin() {
  clearInterval(state.timer);
  state.me = null;
  $('nav').hidden = true;
  $('whoami').textContent = '';
  for (const v of VIEWS) $('view-' + v).hidden = v !== 'login';
  $('login-user').focus();
}

function loggedIn(me) {
  state.me = me;
  state.csrf = me.csrf;
  $('nav').hidden = false;
  $('whoami').textContent = me.user + (me.superuser ? ' (superuser)' : ' (realm ' + me.realm + ')');
  show('dashboard');
}

function chart() {
  const h = state.history;
  const line = (key, id) => {
    const max = Math.max(1, ...h.map((p) => p[key]));
    const span = Math.max(h.length - 1, 10); // fills the width as the history grows to 5 minutes
    const pts = h.map((p, i) => (i * 300 / span).toFixed(1) + ',' + (98 - p[key] * 96 / max).toFixed(1));
    $(id).setAttribute('points', pts.join(' '));
  };
  line('allocs', 'chart-allocs');
  line('rate', 'chart-rate');
}

async function loadStatus() {
  const s = await api('GET', 'status');
  const t = s.sessions || {};
  const allocs = s.allocations || 0;
  const up = (s['to-peer'] || {}).bytes || 0;
  const down = (s['to-client'] || {}).bytes || 0;
  const now = Date.now();
  let rate = 0;
  if (state.last) rate = Math.max(0, (up + down - state.last.total) * 1000 / (now - state.last.t));
  state.last = { t: now, total: up + down };
  state.history.push({ allocs, rate });
  if (state.history.length > 150) state.history.shift();
  $('d-allocs').textContent = String(allocs);
  $('d-transports').textContent = ['udp', 'tcp', 'tls', 'dtls'].map((k) => k + ' ' + (t[k] || 0)).join(' · ');
  $('d-traffic').textContent = 'in ' + bytes(up) + ' / out ' + bytes(down);
  $('d-rate').textContent = bytes(Math.round(rate)) + '/s relayed now';
  $('d-capacity').textContent = allocs + ' of ' + (s.capacity || '-');
  const p = s['relay-ports'] || {};
  $('d-ports').textContent = 'relay ports ' + (p.used || 0) + ' of ' + (p.total || 0) + ' in use';
  $('d-ready').textContent = s.draining ? 'draining' : (s.ready ? 'ready' : 'not ready');
  $('d-ready').className = s.ready ? 'pass' : 'fail';
  $('d-version').textContent = 'version ' + s.version + ', up ' + s.uptime + ' s, log ' + s.loglevel;
  chart();
}

async function loadSessions() {
  const list = await api('GET', 'sessions');
  const tbody = $('sessions-table').querySelector('tbody');
  tbody.replaceChildren();
  for (const s of list) {
    const tr = document.createElement('tr');
    tr.dataset.id = s.id;
    tr.dataset.user = s.user;
    cell(tr, s.id); cell(tr, s.user); cell(tr, s.transport); cell(tr, s.client);
    cell(tr, s.relayed); cell(tr, s.age + ' s');
    cell(tr, bytes(s['to-peer-bytes'])); cell(tr, bytes(s['to-client-bytes']));
    button(cell(tr, ''), 'Kill', 'Kill session ' + s.id + ' of ' + s.user, async () => {
      try {
        await api('DELETE', 'sessions/' + encodeURIComponent(s.id));
        say('Session ' + s.id + ' killed', true);
        await loadSessions();
      } catch (e) { say(e.message); }
    });
    tbody.appendChild(tr);
  }
}

async function loadUsers() {
  const list = await api('GET', 'users');
  const tbody = $('users-table').querySelector('tbody');
  tbody.replaceChildren();
  for (const u of list) {
    const tr = document.createElement('tr');
    tr.dataset.name = u.name;
    cell(tr, u.realm); cell(tr, u.name);
    const td = cell(tr, '');
    const q = '?realm=' + encodeURIComponent(u.realm);
    button(td, 'Password', 'Change the password of ' + u.name, async () => {
      const pw = window.prompt('New password for ' + u.name);
      if (!pw) return;
      try {
        await api('PUT', 'users/' + encodeURIComponent(u.name) + '/password', { password: pw, realm: u.realm });
        say('Password changed', true);
      } catch (e) { say(e.message); }
    });
    button(td, 'Delete', 'Delete user ' + u.name, async () => {
      try {
        await api('DELETE', 'users/' + encodeURIComponent(u.name) + q);
        say('User deleted', true);
        await loadUsers();
      } catch (e) { say(e.message); }
    });
    tbody.appendChild(tr);
  }
}

async function loadSecrets() {
  const list = await api('GET', 'secrets');
  const tbody = $('secrets-table').querySelector('tbody');
  tbody.replaceChildren();
  for (const s of list) {
    const tr = document.createElement('tr');
    cell(tr, s.realm); cell(tr, s.id); cell(tr, s.masked + ' (' + s.length + ' characters)');
    button(cell(tr, ''), 'Delete', 'Delete secret ' + s.id, async () => {
      try {
        await api('DELETE', 'secrets/' + encodeURIComponent(s.id) + '?realm=' + encodeURIComponent(s.realm));
        say('Secret deleted', true);
        await loadSecrets();
      } catch (e) { say(e.message); }
    });
    tbody.appendChild(tr);
  }
}

async function newSecret(path) {
  try {
    const r = await api('POST', path, {});
    $('secret-new').textContent = 'New secret (shown once): ' + r.secret;
    await loadSecrets();
  } catch (e) { say(e.message); }
}

async function loadRealm() {
  const r = await api('GET', 'realm');
  for (const k of ['max-bps', 'total-quota', 'user-quota'])
    $('realm-' + k).value = r.options[k] !== undefined ? r.options[k] : '';
  const list = await api('GET', 'peers');
  const tbody = $('peers-table').querySelector('tbody');
  tbody.replaceChildren();
  for (const p of list) {
    const tr = document.createElement('tr');
    cell(tr, p.realm); cell(tr, p.action); cell(tr, p.range);
    button(cell(tr, ''), 'Remove', 'Remove ' + p.action + ' range ' + p.range, async () => {
      try {
        await api('DELETE', 'peers?action=' + encodeURIComponent(p.action) + '&range=' +
          encodeURIComponent(p.range) + '&realm=' + encodeURIComponent(p.realm));
        await loadRealm();
      } catch (e) { say(e.message); }
    });
    tbody.appendChild(tr);
  }
}

function wire() {
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const me = await api('POST', 'login', { user: $('login-user').value, password: $('login-password').value });
      $('login-password').value = '';
      say('', true);
      loggedIn(me);
    } catch (e) { say(e.message); }
  });
  for (const b of document.querySelectorAll('nav button[data-view]'))
    b.addEventListener('click', () => { say('', true); show(b.dataset.view); });
  $('logout').addEventListener('click', async () => {
    try { await api('POST', 'logout'); } catch (e) { /* gone anyway */ }
    showLogin();
  });
  $('user-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', 'users', { name: $('user-name').value, password: $('user-password').value });
      say('User ' + $('user-name').value + ' added', true);
      $('user-name').value = '';
      $('user-password').value = '';
      await loadUsers();
    } catch (e) { say(e.message); }
  });
  $('secret-add').addEventListener('click', () => newSecret('secrets'));
  $('secret-rotate').addEventListener('click', () => newSecret('secrets/rotate'));
  $('realm-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const k of ['max-bps', 'total-quota', 'user-quota'])
      if ($('realm-' + k).value !== '') body[k] = Number($('realm-' + k).value);
    try { await api('PUT', 'realm', body); say('Realm options saved', true); } catch (e) { say(e.message); }
  });
  $('peer-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', 'peers', { action: $('peer-action').value, range: $('peer-range').value });
      $('peer-range').value = '';
      await loadRealm();
    } catch (e) { say(e.message); }
  });
}

document.addEventListener('DOMContentLoaded', async () => {
  wire();
  try { loggedIn(await api('GET', 'me')); } catch (e) { showLogin(); say('', true); }
});
