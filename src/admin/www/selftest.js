// Self-test: credentials from /api/v1/ice-servers, then for each transport two
// RTCPeerConnections relayed through this server exchange data-channel pings.
// document.body.dataset.selftest ends as 'pass' or 'fail' for automation.
'use strict';

const TIMEOUT_MS = 15000;

function pick(urls, kind) {
  return urls.find((u) => kind === 'tls' ? u.startsWith('turns:')
    : u.startsWith('turn:') && u.includes('transport=' + kind));
}

function timeout(p, ms, what) {
  return Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(what + ' timed out')), ms))]);
}

async function relayedCandidate(pc) {
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
  });
  if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
  const local = pair ? stats.get(pair.localCandidateId) : null;
  if (!local) return null;
  return { type: local.candidateType, address: (local.address || local.ip) + ':' + local.port,
    protocol: local.relayProtocol || local.protocol };
}

async function runOne(url, username, credential) {
  const config = { iceServers: [{ urls: url, username, credential }], iceTransportPolicy: 'relay' };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  try {
    a.onicecandidate = (e) => { if (e.candidate) b.addIceCandidate(e.candidate).catch(() => {}); };
    b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate).catch(() => {}); };
    const dc = a.createDataChannel('selftest');
    b.ondatachannel = (e) => { e.channel.onmessage = (m) => e.channel.send(m.data); };
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await timeout(new Promise((res) => { dc.onopen = res; }), TIMEOUT_MS, 'connection');
    const rtts = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const back = new Promise((res) => { dc.onmessage = res; });
      dc.send('ping ' + i);
      await timeout(back, TIMEOUT_MS, 'echo');
      rtts.push(performance.now() - t0);
    }
    const cand = await relayedCandidate(a);
    if (!cand || cand.type !== 'relay') throw new Error('the selected path is not relayed');
    rtts.sort((x, y) => x - y);
    return { ok: true, cand, rtt: rtts[Math.floor(rtts.length / 2)] };
  } finally {
    a.close();
    b.close();
  }
}

function row(tbody, kind, url) {
  const tr = document.createElement('tr');
  tr.dataset.transport = kind;
  for (const text of [kind, url || '-', 'running', '', '']) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.appendChild(td);
  }
  tbody.appendChild(tr);
  return tr.children;
}

async function run() {
  const tbody = document.querySelector('#results tbody');
  const summary = document.getElementById('summary');
  document.body.dataset.selftest = 'running';
  tbody.replaceChildren();
  summary.textContent = 'Asking the API for credentials...';
  let ice;
  try {
    const r = await fetch('/api/v1/ice-servers?user=selftest&ttl=300', { credentials: 'same-origin' });
    if (r.status === 401) throw new Error('log in on the console first');
    ice = await r.json();
    if (!r.ok) throw new Error(ice.error || ('HTTP ' + r.status));
  } catch (e) {
    summary.textContent = 'No credentials: ' + e.message;
    document.body.dataset.selftest = 'fail';
    return;
  }
  const turn = ice.iceServers.find((s) => s.username);
  const urls = [].concat(turn.urls);
  let pass = true;
  for (const kind of ['udp', 'tcp', 'tls']) {
    const url = pick(urls, kind);
    const cells = row(tbody, kind, url);
    if (!url) {
      cells[2].textContent = 'not offered';
      cells[2].className = 'fail';
      pass = false;
      continue;
    }
    summary.textContent = 'Testing ' + kind + '...';
    try {
      const r = await runOne(url, turn.username, turn.credential);
      cells[2].textContent = 'pass';
      cells[2].className = 'pass';
      cells[3].textContent = r.cand.address + ' (' + r.cand.protocol + ')';
      cells[4].textContent = r.rtt.toFixed(1) + ' ms';
    } catch (e) {
      cells[2].textContent = 'fail: ' + e.message;
      cells[2].className = 'fail';
      pass = false;
    }
  }
  summary.textContent = pass ? 'Every transport relays.' : 'At least one transport failed.';
  document.body.dataset.selftest = pass ? 'pass' : 'fail';
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('run').addEventListener('click', run);
  run();
});
