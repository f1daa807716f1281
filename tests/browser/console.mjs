// Headless Chromium drives the web console (tests/integration/t_console.sh):
// logs in with the keyboard, reads the live dashboard, finds the session of
// --watch-user in the sessions table and kills it, adds --add-user in the
// users page, adds a user with a hostile name and checks it is shown as text,
// then runs /selftest. One line per step ("ok STEP ..." or "FAIL STEP ...");
// screenshots go to --shots. Exits 0 when every step passed.
//
//   node console.mjs --base URL --user U --password P --watch-user W
//        --add-user NAME --add-password PW --shots DIR [--chromium PATH]
import { chromium } from 'playwright-core';

const LAUNCH_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--ignore-certificate-errors', // turns: with the test's self-signed certificate
];
const HOSTILE = '<img src=x onerror="window.__xss=1">';

function parseArgs(argv) {
  const o = { chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
    o[k] = argv[i + 1];
  }
  for (const k of ['base', 'user', 'password', 'watchUser', 'addUser', 'addPassword', 'shots'])
    if (o[k] === undefined) throw new Error(`--${k} is required`);
  return o;
}

let failed = 0;
async function step(name, fn) {
  try {
    const info = await fn();
    console.log(`ok ${name}${info ? ' ' + info : ''}`);
    return true;
  } catch (err) {
    failed++;
    console.log(`FAIL ${name} ${String(err.message || err).split('\n')[0]}`);
    return false;
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const browser = await chromium.launch({ executablePath: o.chromium, headless: true,
    args: LAUNCH_FLAGS, timeout: 30000 });
  try {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1100, height: 760 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(20000);
    console.log(`chromium ${browser.version()}`);
    const loggedIn = await step('login', async () => {
      await page.goto(o.base + '/');
      await page.focus('#login-user');
      await page.keyboard.type(o.user);
      await page.keyboard.press('Tab');
      await page.keyboard.type(o.password);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#view-dashboard:not([hidden])');
      return (await page.textContent('#whoami')).trim();
    });
    if (!loggedIn) return 1;
    await step('dashboard', async () => {
      await page.waitForFunction(() =>
        document.getElementById('chart-allocs').getAttribute('points').split(' ').length >= 8, null,
      { timeout: 40000 });
      const allocs = await page.textContent('#d-allocs');
      const ready = await page.textContent('#d-ready');
      await page.screenshot({ path: `${o.shots}/console-dashboard.png`, fullPage: true });
      if (ready !== 'ready') throw new Error(`readiness says ${ready}`);
      return `allocations=${allocs} ready=${ready} transports="${await page.textContent('#d-transports')}"`;
    });
    await step('session-listed-and-killed', async () => {
      await page.click('nav button[data-view=sessions]');
      const sel = `#sessions-table tbody tr[data-user="${o.watchUser}"]`;
      const row = await page.waitForSelector(sel);
      const id = await row.getAttribute('data-id');
      await page.screenshot({ path: `${o.shots}/console-sessions.png`, fullPage: true });
      await row.$eval('button', (b) => b.click());
      await page.waitForSelector(`#sessions-table tbody tr[data-id="${id}"]`, { state: 'detached' });
      return `id=${id}`;
    });
    await step('user-added', async () => {
      await page.click('nav button[data-view=users]');
      await page.fill('#user-name', o.addUser);
      await page.fill('#user-password', o.addPassword);
      await page.click('#user-add');
      await page.waitForSelector(`#users-table tbody tr[data-name="${o.addUser}"]`);
      return o.addUser;
    });
    await step('hostile-name-escaped', async () => {
      await page.fill('#user-name', HOSTILE);
      await page.fill('#user-password', 'hostile-pw');
      await page.click('#user-add');
      await page.waitForFunction((h) => [...document.querySelectorAll('#users-table tbody td')]
        .some((td) => td.textContent === h), HOSTILE);
      const imgs = await page.$$eval('#users-table img', (l) => l.length);
      const xss = await page.evaluate(() => window.__xss);
      if (imgs !== 0 || xss !== undefined) throw new Error(`markup ran: img=${imgs} xss=${xss}`);
      return 'shown as text';
    });
    await step('selftest', async () => {
      await page.goto(o.base + '/selftest');
      await page.waitForFunction(() => ['pass', 'fail'].includes(document.body.dataset.selftest), null,
        { timeout: 120000 });
      const rows = await page.$$eval('#results tbody tr', (trs) => trs.map((tr) =>
        [...tr.children].map((td) => td.textContent).join(' | ')));
      for (const r of rows) console.log(`selftest ${r}`);
      await page.screenshot({ path: `${o.shots}/console-selftest.png`, fullPage: true });
      const v = await page.evaluate(() => document.body.dataset.selftest);
      if (v !== 'pass') throw new Error(`selftest=${v}`);
      return 'selftest=pass';
    });
  } finally {
    await browser.close();
  }
  return failed === 0 ? 0 : 1;
}

main().then((rc) => process.exit(rc), (err) => {
  console.log(`FAIL driver ${err.message}`);
  process.exit(1);
});
