// Headless Chromium (a real WebRTC stack) against the TURN server: for each
// --url, one page makes two RTCPeerConnections with iceTransportPolicy 'relay',
// connects them, moves a data-channel payload both ways and reads getStats()
// for the selected candidate pair. Prints one line per URL:
//   "<url> ok local=relay/udp remote=relay/udp bytes=N relayed=IP:PORT" or
//   "<url> FAIL <why>". Exits 0 when every URL succeeded, 1 otherwise,
//   2 on usage errors.
//
//   node relay.mjs --user U --password P [--chromium PATH] [--timeout MS] --url URL...
import { chromium } from 'playwright-core';

const LAUNCH_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // turns: with the self-signed certificate made by the test.
  '--ignore-certificate-errors',
];

function parseArgs(argv) {
  const o = { urls: [], chromium: '/usr/bin/chromium', timeout: 20000, payload: 4000 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${k} needs a value`);
    i++;
    if (k === '--url') o.urls.push(v);
    else if (k === '--user') o.user = v;
    else if (k === '--password') o.password = v;
    else if (k === '--chromium') o.chromium = v;
    else if (k === '--timeout') o.timeout = Number(v);
    else if (k === '--payload-size') o.payload = Number(v);
    else throw new Error(`unknown option ${k}`);
  }
  if (o.urls.length === 0 || o.user === undefined || o.password === undefined)
    throw new Error('--url, --user and --password are required');
  return o;
}

// Runs inside the page: returns a result object, never throws.
async function relayInPage({ url, user, password, timeout, payloadSize }) {
  const log = [];
  const config = {
    iceServers: [{ urls: url, username: user, credential: password }],
    iceTransportPolicy: 'relay',
  };
  const a = new RTCPeerConnection(config);
  const b = new RTCPeerConnection(config);
  const seen = { a: [], b: [] };
  const wire = (from, to, name) => {
    from.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate) return;
      seen[name].push(e.candidate.type);
      // Only relay candidates are exchanged (the policy gathers nothing else).
      if (e.candidate.type === 'relay') to.addIceCandidate(e.candidate).catch((err) => log.push(String(err)));
    };
    from.onicecandidateerror = (e) => log.push(`${name} candidate error ${e.errorCode} ${e.errorText} ${e.url}`);
  };
  wire(a, b, 'a');
  wire(b, a, 'b');
  const withTimeout = (p, what) => Promise.race([p, new Promise((_, rej) =>
    setTimeout(() => rej(new Error(`timeout: ${what}`)), timeout))]);
  const pattern = (n, seed) => {
    const u = new Uint8Array(n);
    for (let i = 0; i < n; i++) u[i] = (i * 31 + seed) & 0xff;
    return u;
  };
  const same = (x, y) => x.length === y.length && x.every((v, i) => v === y[i]);
  try {
    const dca = a.createDataChannel('t', { ordered: true });
    dca.binaryType = 'arraybuffer';
    const dcbP = new Promise((res) => { b.ondatachannel = (e) => res(e.channel); });
    const openA = new Promise((res) => { dca.onopen = res; });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await withTimeout(openA, 'data channel open (no relayed path)');
    const dcb = await withTimeout(dcbP, 'data channel on the answerer');
    dcb.binaryType = 'arraybuffer';
    const pa = pattern(payloadSize, 1);
    const pb = pattern(payloadSize, 2);
    const gotB = new Promise((res) => { dcb.onmessage = (e) => res(new Uint8Array(e.data)); });
    const gotA = new Promise((res) => { dca.onmessage = (e) => res(new Uint8Array(e.data)); });
    dca.send(pa);
    const rb = await withTimeout(gotB, 'payload a->b');
    dcb.send(pb);
    const ra = await withTimeout(gotA, 'payload b->a');
    const stats = await a.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
    const local = pair && stats.get(pair.localCandidateId);
    const remote = pair && stats.get(pair.remoteCandidateId);
    return {
      ok: same(pa, rb) && same(pb, ra),
      bytes: rb.length + ra.length,
      gathered: seen,
      local: local && { type: local.candidateType, relayProtocol: local.relayProtocol,
        address: local.address, port: local.port, protocol: local.protocol, url: local.url },
      remote: remote && { type: remote.candidateType, address: remote.address, port: remote.port },
      log,
    };
  } catch (err) {
    return { ok: false, error: String(err), gathered: seen, log };
  } finally {
    a.close();
    b.close();
  }
}

function verdict(url, r) {
  if (r.error) return `${url} FAIL ${r.error}; gathered a=[${r.gathered.a}] b=[${r.gathered.b}]; ${r.log.join('; ')}`;
  if (!r.ok) return `${url} FAIL payload corrupted`;
  if (!r.local || !r.remote) return `${url} FAIL no selected candidate pair in getStats`;
  const line = `local=${r.local.type}/${r.local.relayProtocol} remote=${r.remote.type} ` +
    `bytes=${r.bytes} relayed=${r.local.address}:${r.local.port}`;
  if (r.local.type !== 'relay' || r.remote.type !== 'relay') return `${url} FAIL not relayed: ${line}`;
  return `${url} ok ${line}`;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`relay.mjs: ${err.message}`);
    return 2;
  }
  const browser = await chromium.launch({ executablePath: o.chromium, headless: true,
    args: LAUNCH_FLAGS, timeout: 30000 });
  let failed = 0;
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(o.timeout + 5000);
    console.log(`chromium ${browser.version()}`);
    for (const url of o.urls) {
      const r = await page.evaluate(relayInPage, { url, user: o.user, password: o.password,
        timeout: o.timeout, payloadSize: o.payload });
      const line = verdict(url, r);
      if (!line.startsWith(`${url} ok`)) failed++;
      console.log(line);
    }
  } finally {
    await browser.close();
  }
  return failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (err) => {
  console.error(`relay.mjs: ${err.stack || err}`);
  process.exit(1);
});
