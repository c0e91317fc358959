// The console in a real browser (Debian chromium through playwright-core): sign-in
// with TOTP, each persona's main page, drill-down, exports, role denials, the idle
// timeout, a tablet-sized viewport, and axe-core on every page (no serious or
// critical violation). Saves each persona's main page to docs/screenshots/.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { start, totp, DEMO, sleep } = require('./platform.js');
const { spawn } = require('node:child_process');

const IDLE_SECONDS = 15;
const YEAR = 2025;
// SCREENSHOTS names a directory to save each persona's main page in (make screenshots).
const shots = process.env.SCREENSHOTS;
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let platform, browser, profile;
let tin, otherTin; // the demo administrator's clinic's TIN (clinic1's group) and another clinic's

before(async () => {
  platform = await start({ idle: IDLE_SECONDS + 's', year: YEAR });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-chromium-'));
  browser = await launchChromium(profile);
  const groups = (await platform.api('/records/v1/groups?limit=100')).items.filter((g) => g.organization_id.startsWith('clinic'));
  assert.ok(groups.length >= 2, 'the generator made at least two clinics');
  // The demo administrator's clinic is clinic1: records' directory puts its group's TIN
  // and the clinicians billing under it in that clinic, without any mapping by hand.
  tin = groups.find((g) => g.organization_id === 'clinic1').tin;
  otherTin = groups.find((g) => g.organization_id !== 'clinic1').tin;
  if (shots) fs.mkdirSync(shots, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (chromiumProc && chromiumProc.exitCode === null) {
    const exited = new Promise((r) => chromiumProc.once('exit', r));
    chromiumProc.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
  }
  if (platform) await platform.stop();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

// launchChromium starts Debian's chromium with exactly the flags CI uses and a new,
// empty profile, and connects playwright to it over the DevTools protocol
// (playwright's own launch refuses --user-data-dir).
let chromiumProc;
async function launchChromium(userDataDir) {
  chromiumProc = spawn(process.env.CHROMIUM || '/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu',
    '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', `--user-data-dir=${userDataDir}`, '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0', 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const ws = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('chromium did not start: ' + err)), 30000);
    chromiumProc.stderr.on('data', (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    chromiumProc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chromium exited ${code}: ${err}`)); });
  });
  chromiumProc.stderr.resume();
  return chromium.connectOverCDP(ws);
}

// usedSteps remembers each account's last TOTP step: the gateway refuses a replayed
// code, so a second sign-in of one account waits for the next step.
const usedSteps = new Map();

async function signIn(username, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(platform.base + '/');
  assert.match(page.url(), /\/signin/, 'an anonymous visit goes to sign-in');
  await axeCheck(page, 'sign-in');
  let step = Math.floor(Date.now() / 30000);
  if (usedSteps.get(username) >= step) {
    await sleep((step + 1) * 30000 - Date.now() + 200);
    step++;
  }
  usedSteps.set(username, step);
  await page.getByLabel(/user ?name/i).fill(username);
  await page.getByLabel(/password/i).fill(DEMO.password);
  await page.getByLabel(/code/i).fill(totp(DEMO.totpSecret));
  await Promise.all([page.waitForURL(platform.base + '/'), page.getByRole('button', { name: /sign in/i }).click()]);
  return { context, page };
}

// axeCheck runs axe-core in the page (evaluated, so the page's CSP does not apply)
// and fails on any serious or critical violation.
async function axeCheck(page, name) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`), [],
    `axe on ${name}`);
}

const csrf = (page) => page.locator('meta[name="csrf-token"]').getAttribute('content');

test('compliance officer: tiles, trend, drill-down, worklist, freeze, audit export', async () => {
  const { context, page } = await signIn('demo-officer');
  try {
    await axeCheck(page, 'officer home');
    await page.goto(`${platform.base}/compliance?program=mips-pi&year=${YEAR}&entity=tin:${tin}&period=year`);
    const tiles = page.locator('.tile');
    assert.ok(await tiles.count() > 0, 'measure tiles for the demo data');
    const first = tiles.filter({ has: page.locator('a', { hasText: 'Patients behind' }) }).first(); // a ratio measure
    assert.match(await first.locator('.status').innerText(), /Met|At risk|Not met|Excluded/, 'status in words');
    assert.match(await first.locator('.rate').innerText(), /\d+ \/ \d+/, 'numerator / denominator');
    await page.getByText(/data current as of/).waitFor();
    await page.locator('.tile svg.spark').first().waitFor({ timeout: 15000 }); // the 12-week trend, loaded by htmx
    await page.waitForLoadState('networkidle');
    await axeCheck(page, 'officer measures');
    if (shots) await page.screenshot({ path: path.join(shots, 'officer.png'), fullPage: true });

    // The period selector: any 180 days (MIPS PI 2025 needs at least 180).
    await page.goto(`${platform.base}/compliance?program=mips-pi&year=${YEAR}&entity=tin:${tin}&period=180&start=${YEAR}-04-01`);
    await page.getByText(`Period ${YEAR}-04-01 to ${YEAR}-09-27`).waitFor();
    assert.ok(await page.locator('.tile').count() > 0, 'tiles for 180 days');
    const bad = await page.goto(`${platform.base}/compliance?year=${YEAR}&entity=tin:${tin}&period=custom&from=${YEAR}-05-01&to=${YEAR}-04-01`);
    assert.equal(bad.status(), 400, 'a backwards custom period is a 400');
    assert.match(await page.locator('.problem').innerText(), /to/, 'naming the field');

    // Drill down: the patients behind the first measure, each with the reason.
    await page.goto(`${platform.base}/compliance?program=mips-pi&year=${YEAR}&entity=tin:${tin}&period=year`);
    await Promise.all([page.waitForURL(/\/members\?/), page.locator('.tile a', { hasText: 'Patients behind' }).first().click()]);
    const rows = page.locator('table.members tbody tr');
    assert.ok(await rows.count() > 0, 'drill-down rows');
    assert.match(await rows.first().innerText(), /counted|not-eligible|missing|late|met/, 'a reason per patient');
    await axeCheck(page, 'drill-down');
    const next = page.getByRole('link', { name: 'Next page' });
    if (await next.count()) {
      await Promise.all([page.waitForURL(/page_token=/), next.click()]);
      assert.ok(await rows.count() > 0, 'the next page of the drill-down');
    }

    // Worklist: the patients not yet in the numerator.
    await page.goto(`${platform.base}/compliance?program=mips-pi&year=${YEAR}&entity=tin:${tin}&period=year`);
    await Promise.all([page.waitForURL(/in=not-numerator/), page.locator('.tile a', { hasText: 'Worklist for' }).first().click()]);
    await page.getByText(/not yet in the numerator/).waitFor();

    // Freeze: an attestation page when reporting freezes server-side, else a clear
    // problem panel — never a server error.
    await page.goto(`${platform.base}/compliance?program=mips-pi&year=${YEAR}&entity=tin:${tin}&period=year`);
    const [resp] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Freeze attestation' }).click()]);
    assert.ok(resp.status() < 500, `freeze answered ${resp.status()}`);
    if (/\/attestations\//.test(page.url())) {
      await page.getByText(/Verification/).waitFor();
      await axeCheck(page, 'attestation');
    } else {
      assert.ok(await page.locator('.problem').count() > 0, 'the freeze problem is shown');
    }

    // The audit log: filter, sort, export as CSV.
    await page.goto(`${platform.base}/audit?action=signin`);
    assert.ok(await page.locator('table.audit tbody tr').count() > 0, 'sign-ins are audited');
    await Promise.all([page.waitForURL(/sort=actor/), page.getByRole('link', { name: /User/ }).click()]);
    assert.equal(await page.locator('th[aria-sort="ascending"]').innerText().then((s) => s.trim().startsWith('User')), true);
    await axeCheck(page, 'audit log');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    assert.match(csv, /^seq,at,actor,action,patient_id,remote,outcome,detail,hash\n/);
    assert.match(csv, /,signin,/);

    // An officer can still map an extra entity to a clinic by hand (audited).
    const res = await page.request.post(`${platform.base}/gateway/v1/clinics/clinic1/entities`, {
      data: { entity: 'npi:1234567893' }, headers: { 'X-CSRF-Token': await csrf(page) } });
    assert.equal(res.status(), 201, await res.text());
  } finally {
    await context.close();
  }
});

test('clinic administrator: own clinics only, live KPIs, tablet width', async () => {
  const { context, page } = await signIn('demo-admin', { width: 820, height: 1180 });
  try {
    await page.goto(`${platform.base}/engagement?from=${YEAR}-01-01&to=${YEAR}-12-31`);
    const clinics = await page.locator('table.kpis').first().locator('tbody th').allInnerTexts();
    // The clinic's group (by TIN) and its messaging pool (named by the clinic itself).
    assert.deepEqual(clinics.sort(), ['clinic1', 'tin:' + tin].sort(), 'only the administrator\'s clinic');
    // The clinician table: the demo clinic's clinicians, each at the demo clinic.
    const clinicianRows = page.locator('table.kpis', { has: page.locator('caption', { hasText: 'By clinician' }) }).locator('tbody tr');
    const rows = await clinicianRows.evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())));
    assert.ok(rows.length > 0 && rows.every((r) => /^\d{10}$/.test(r[0]) && (r[1] === 'tin:' + tin || r[1] === 'clinic1')),
      'the clinician table has the demo clinic\'s clinicians: ' + JSON.stringify(rows.slice(0, 3)));
    await page.getByText(/Live updates: connected/).waitFor({ timeout: 10000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling on a tablet (${overflow}px)`);
    await axeCheck(page, 'engagement');
    if (shots) await page.screenshot({ path: path.join(shots, 'clinic-admin.png'), fullPage: true });

    // Another clinic's numbers are refused, on the page and behind it.
    let r = await page.goto(`${platform.base}/engagement?clinic=tin:${otherTin}`);
    assert.equal(r.status(), 403, 'another clinic\'s engagement');
    r = await page.goto(`${platform.base}/members?program=mips-pi&year=${YEAR}&entity=tin:${otherTin}&measure=PI_PEA_1`);
    assert.equal(r.status(), 403, 'another clinic\'s patients');
    r = await page.goto(`${platform.base}/compliance`);
    assert.equal(r.status(), 403, 'the officer\'s page');
    r = await page.goto(`${platform.base}/members?program=mips-pi&year=${YEAR}&entity=tin:${tin}&measure=PI_PEA_1`);
    assert.equal(r.status(), 200, 'their own clinic\'s patients');
  } finally {
    await context.close();
  }
});

test('auditor: attestations and the audit log, read-only', async () => {
  const { context, page } = await signIn('demo-auditor');
  try {
    await page.getByRole('heading', { name: 'Attestations' }).waitFor();
    await axeCheck(page, 'auditor home');
    if (shots) await page.screenshot({ path: path.join(shots, 'auditor.png'), fullPage: true });
    const form = { program: 'mips-pi', year: String(YEAR), entity: 'tin:' + tin, period: 'year', csrf: await csrf(page) };
    const res = await page.request.post(`${platform.base}/attestations`, { form, maxRedirects: 0 });
    assert.equal(res.status(), 403, 'an auditor cannot freeze');
    const api = await page.request.post(`${platform.base}/reporting/v1/attestations`, { data: {}, headers: { 'X-CSRF-Token': form.csrf } });
    assert.equal(api.status(), 403, 'nor through the API');
    await page.goto(`${platform.base}/audit?action=signin&sort=at&dir=desc`);
    assert.ok(await page.locator('table.audit tbody tr').count() > 0);
    await axeCheck(page, 'auditor audit log');
    const r = await page.goto(`${platform.base}/engagement/kpis?from=${YEAR}-01-01&to=${YEAR}-12-31`);
    assert.equal(r.status(), 200, 'auditors read aggregates');
  } finally {
    await context.close();
  }
});

test('an idle session ends and the browser is sent to sign in', async () => {
  const { context, page } = await signIn('demo-clinician');
  try {
    await axeCheck(page, 'clinician home');
    await sleep((IDLE_SECONDS + 1) * 1000);
    await page.reload();
    assert.match(page.url(), /\/signin\?why=timeout$/);
    const cookies = await context.cookies();
    assert.ok(!cookies.some((c) => c.name === 'attest_session' && c.value), 'the session cookie is gone');
  } finally {
    await context.close();
  }
});
