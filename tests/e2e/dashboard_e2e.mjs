// The web dashboard in a real browser (issue 7's must-show): Debian's chromium, headless,
// driven by playwright-core over `p4dp serve` on a small synthetic warehouse.
//  1. Enter (sign in when the server has access control, else the open mode's badge); build
//     the contract's example cohort by clicking and see the count and attrition of
//     `p4dp count`; open surveillance and find an injected outbreak (truth/outbreaks.csv)
//     that the server alerts on, on the map (alarm colour at its week) and in the alert list;
//     no console error on any page.
//  2. A screenshot of each page at 1440x900 (animations off: prefers-reduced-motion) under
//     WORK/screenshots.
//  3. Tab reaches every visible control of each page; charts and the map have text
//     alternatives; images have alt text.
//  4. The first screen of each page (its heading) appears in under a second.
//  5. An auditor and an admin sign in with their second factor (TOTP, computed here from the
//     otpauth:// URI `p4dp user add` printed, RFC 6238): the audit viewer (filters, verify)
//     and the administration (add a user, create a project, add a member) work.
// Usage: node tests/e2e/dashboard_e2e.mjs P4DP_BINARY WORK_DIR WEB_DIR [PATIENTS]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import crypto from 'node:crypto';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [p4dp, work, webDir, patientsArg] = process.argv.slice(2);
if (!p4dp || !work || !webDir) {
  console.error('usage: node tests/e2e/dashboard_e2e.mjs P4DP_BINARY WORK_DIR WEB_DIR [PATIENTS]');
  process.exit(2);
}
const kPatients = patientsArg || '20000';
const kChromium = process.env.P4DP_CHROMIUM || '/usr/bin/chromium';
const kFirstScreenMs = 1000;
const require = createRequire(path.join(root, 'web/package.json'));
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch {
  console.error('web/node_modules/playwright-core is missing: run tools/setup.sh');
  process.exit(1);
}
if (!fs.existsSync(kChromium)) {
  console.error(`${kChromium} is missing: run tools/setup.sh (Debian package chromium)`);
  process.exit(1);
}

let passed = 0;
const failures = [];
function check(condition, message) {
  console.log((condition ? 'ok   ' : 'FAIL ') + message);
  if (condition) passed += 1; else failures.push(message);
}

// RFC 6238 (HMAC-SHA-1, 30-second steps, 6 digits) from an otpauth:// URI's base32 secret:
// what the authenticator app of a user with a second factor computes.
function totpSecret(uri) {
  const b32 = new URL(uri).searchParams.get('secret').replace(/=+$/, '').toUpperCase();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of b32) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}
function totpCode(secret, unixSeconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = crypto.createHmac('sha1', secret).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

function run(args) {
  const r = spawnSync(p4dp, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`p4dp ${args[0]} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// ---- The warehouse -------------------------------------------------------------------------
fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const fhir = path.join(work, 'fhir');
const data = path.join(work, 'data');
const key = path.join(work, 'data.key');
const shots = path.join(work, 'screenshots');
fs.mkdirSync(shots);
run(['synth', '--quiet', '--patients', kPatients, '--seed', '7', '--compress', 'zstd', '--out', fhir]);
run(['init', data, '--key-file', key]);
run(['ingest', data, fhir, '--key-file', key, '--quiet']);
const exampleFile = path.join(root, 'tests/golden/cohorts/01-contract-example.json');
const example = JSON.parse(fs.readFileSync(exampleFile, 'utf8'));
const expected = JSON.parse(run(['count', data, exampleFile, '--key-file', key]));
// Accounts (docs/access.md): an admin (the bootstrap: the first user), a researcher and
// epidemiologist member of project e2e, and a researcher outside it. Project e2e has a
// small-cell threshold of 1 so that the page's counts can be compared with `p4dp count`'s;
// the small-cell and differencing rules are tested in tests/access/.
const kAdmin = 'e2e-admin';
const kUser = 'e2e-user';
const kOutsider = 'e2e-outsider';
const kPassword = 'e2e-password-1';
function runAs(args, input) {
  const r = spawnSync(p4dp, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`p4dp ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
// `user add` prints the second factor's otpauth:// URI once, for the roles that need one.
const adminAdded = JSON.parse(runAs(['user', 'add', data, kAdmin, '--role', 'admin',
  '--password-stdin', '--key-file', key], kPassword + '\n'));
const kAuditor = 'e2e-auditor';
const auditorAdded = JSON.parse(runAs(['user', 'add', data, kAuditor, '--role', 'auditor',
  '--password-stdin', '--key-file', key, '--user', kAdmin], kPassword + '\n'));
check(Boolean(adminAdded.totp_uri && auditorAdded.totp_uri),
      '`p4dp user add` prints the otpauth:// URI of the admin and of the auditor');
for (const [name, roles] of [[kUser, ['researcher', 'epidemiologist', 'investigator']], [kOutsider, ['researcher']]]) {
  runAs(['user', 'add', data, name, ...roles.flatMap((r) => ['--role', r]), '--password-stdin',
         '--key-file', key, '--user', kAdmin], kPassword + '\n');
}
runAs(['project', 'create', data, 'e2e', '--title', 'Étude e2e', '--min-cell', '1', '--key-file', key, '--user', kAdmin]);
runAs(['project', 'add-member', data, 'e2e', kUser, '--key-file', key, '--user', kAdmin]);
runAs(['project', 'create', data, 'other', '--title', 'Autre étude', '--key-file', key, '--user', kAdmin]);
runAs(['project', 'add-member', data, 'other', kOutsider, '--key-file', key, '--user', kAdmin]);
const outbreaks = fs.readFileSync(path.join(fhir, 'truth/outbreaks.csv'), 'utf8').trim().split('\n')
  .slice(1).map((l) => { const [indicator, departement, first_day] = l.split(','); return { indicator, departement, first_day }; });

// ---- The server ----------------------------------------------------------------------------
// The rate limit and the differencing guard at their defaults: the page counts drafts while a
// cohort is edited (?draft=1, which the differencing guard does not see) and the exact count
// only on "Compter".
// The French code lists beside the repository, when there, give the code search its labels.
const codeLists = path.join(root, '../shared/data/codes');
const server = spawn(p4dp, ['serve', data, '--key-file', key, '--port', '0', '--web', webDir,
                            '--user', kAdmin,
                            ...(fs.existsSync(codeLists) ? ['--code-lists', codeLists] : [])],
                     { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  const lines = readline.createInterface({ input: server.stdout });
  lines.once('line', (line) => {
    const m = line.match(/on (http:\/\/[^ ]+\/)$/);
    if (m) resolve(m[1].replace(/\/$/, '')); else reject(new Error(`unexpected: ${line}`));
  });
  server.once('exit', (code) => reject(new Error(`p4dp serve exited ${code}`)));
});
const stopServer = () => { try { server.kill('SIGTERM'); } catch { /* already gone */ } };
process.on('exit', stopServer);

async function loginToken(user) { return loginTokenWith(user, kPassword); }
async function loginTokenWith(user, password) {
  const r = await fetch(base + '/api/login', { method: 'POST',
    body: JSON.stringify({ user, password }) });
  const body = await r.json().catch(() => null);
  return r.status === 200 && body ? body.token : '';
}
const userToken = await loginToken(kUser);
async function getJson(route, token = userToken, options = {}) {
  const r = await fetch(base + route, { ...options,
    headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, body: await r.json().catch(() => null) };
}

// The outbreak to find: the first injected one that the served alert list (EARS C2, as the
// page's default) reports within two weeks of its start, at the département level.
const monday = (label) => {
  const [y, w] = label.split('-W').map(Number);
  const jan4 = new Date(Date.UTC(y, 0, 4));
  const d = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86400000 + (w - 1) * 7 * 86400000);
  return d;
};
let target = null;
for (const o of outbreaks) {
  const year = o.first_day.slice(0, 4);
  const r = await getJson(`/api/surveillance/alerts?indicator=${o.indicator}&level=departement` +
    `&place=${o.departement}&algorithm=ears-c2&min-sigma=1&from=${year}-W01&to=${year}-W52` +
    '&project=e2e');
  if (r.status !== 200) continue;
  const start = new Date(`${o.first_day}T00:00:00Z`);
  const alert = r.body.alerts.find((a) => monday(a.since) <= new Date(start.getTime() + 14 * 86400000) &&
    monday(a.period).getTime() + 6 * 86400000 >= start.getTime());
  if (alert) { target = { ...o, alert, year }; break; }
}
check(target !== null, `an injected outbreak is alerted by the server (${outbreaks.length} injected)`);

// ---- The browser ---------------------------------------------------------------------------
const browser = await chromium.launch({ executablePath: kChromium, headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'] });
const context = await browser.newContext({ viewport: { width: 1440, height: 900 },
  reducedMotion: 'reduce', locale: 'fr-FR' });
const page = await context.newPage();
page.setDefaultTimeout(30_000);
const consoleErrors = [];
// Routes a server without access control answers 404 to, by design of the open mode
// (docs/web.md); the browser logs those 404s as console errors, which are not the page's.
// /api/me answers 401 before signing in, /api/login 401 to the wrong password tried on purpose.
const kExpected404 = [/\/api\/me(\?|$)/, /\/api\/login(\?|$)/];
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  const url = (msg.location() && msg.location().url) || '';
  if (/status of 40[14]/.test(msg.text()) && kExpected404.some((re) => re.test(url))) return;
  consoleErrors.push(`${msg.text()} (${url})`);
});
page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));

async function openPage(route) {
  const t0 = Date.now();
  await page.goto(`${base}/#/${route}`);
  await page.locator('main h1').first().waitFor();
  return Date.now() - t0;
}

// Tab from the top of the page until focus comes back round; every visible control must
// have been focused on the way.
async function checkKeyboard(name) {
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  // Focus leaves the page after its last control and comes back to the first one; a date
  // input takes several stops (its day, month, year and picker).
  const reached = new Set();
  let outside = 0;
  let first = null;
  for (let i = 0; i < 800 && outside < 3; ++i) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      if (!e.dataset.kbId) e.dataset.kbId = String(Math.random());
      return e.dataset.kbId;
    });
    if (id === null) { outside += 1; continue; }
    if (id === first && reached.size > 1) break;
    if (first === null) first = id;
    reached.add(id);
  }
  const missed = await page.evaluate((ids) => {
    const seen = new Set(ids);
    const controls = [...document.querySelectorAll(
      'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])')];
    return controls.filter((e) => {
      if (e.disabled || e.closest('[hidden]') || e.getAttribute('tabindex') === '-1') return false;
      if (e.type === 'hidden' || e.type === 'file') return false;
      const box = e.getBoundingClientRect();
      if (box.width === 0 && box.height === 0 && !e.classList.contains('skip')) return false;
      if (e.closest('details:not([open])') && e.tagName !== 'SUMMARY') return false;
      if (e.type === 'radio' && !e.checked) return false;  // one tab stop per radio group
      return !seen.has(e.dataset.kbId);
    }).map((e) => e.outerHTML.slice(0, 80));
  }, [...reached]);
  check(missed.length === 0, `${name}: Tab reaches every control (${reached.size} stops` +
        (missed.length ? `; missed ${missed.slice(0, 3).join(' | ')}` : '') + ')');
}

async function checkTextAlternatives(name) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const img of document.querySelectorAll('img')) if (!img.getAttribute('alt')) out.push('img');
    for (const c of document.querySelectorAll('.chart-box, svg.map')) {
      if (!(c.getAttribute('aria-label') || '').trim()) out.push(c.className.baseVal || c.className);
    }
    return out;
  });
  const charts = await page.locator('.chart-box, svg.map').count();
  check(bad.length === 0, `${name}: ${charts} charts/maps all have a text alternative` +
        (bad.length ? ` (missing: ${bad.join(', ')})` : ''));
}

async function screenshot(name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);  // ECharts renders on the next frame
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

try {
  // Entering: sign in where the server has access control, else the open mode.
  await page.goto(base + '/');
  const me = await getJson('/api/me');
  if (me.status === 404) {
    await page.locator('.badge').waitFor();
    check(await page.locator('.badge').innerText() === 'mode sans authentification',
          'a server without access control is entered in the open mode, said so in French');
  } else {
    check(me.status === 401 || me.status === 200, `GET /api/me answers ${me.status}`);
    await page.locator('form input[name=user]').waitFor();
    await screenshot('signin');
    await page.fill('form input[name=user]', kUser);
    await page.fill('form input[name=password]', 'wrong-password');
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.locator('form .error').waitFor();
    check(true, 'a wrong password is refused with a message');
    await page.fill('form input[name=password]', kPassword);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.locator('select[name=project]').waitFor();
    check(await page.locator('select[name=project]').inputValue() === 'e2e',
          'signed in; the only project of the user is selected');
  }

  // The cohort builder: the contract's example, by clicking.
  const tCohorts = await openPage('cohorts');
  let usedSearch = false;
  await page.fill('input[name=title]', example.title);
  for (const [name, codes] of Object.entries(example.codesets)) {
    await page.fill('input[name=codeset-name]', name);
    await page.getByRole('button', { name: 'Ajouter le jeu' }).click();
    const set = page.locator(`fieldset[data-codeset="${name}"]`);
    for (const c of codes) {
      await set.locator('select[name=system]').selectOption(c.system);
      if (c.system === 'atc' && !c.descendants) {
        // Picked from the code search (GET /api/codes) by its first five characters.
        await set.locator('input[name=code]').fill(c.code.slice(0, 5));
        await set.locator('ul.hits button.hit', { hasText: c.code }).click();
        usedSearch = true;
      } else {
        await set.locator('input[name=code]').fill(c.code);
        await set.getByRole('button', { name: 'Ajouter ce code' }).click();
      }
      if (c.descendants) await set.locator(`li[data-code="${c.code}"] input[name=descendants]`).check();
    }
  }
  const e = example.entry;
  await page.selectOption('select[name=entry-domain]', e.domain);
  await page.selectOption('select[name=entry-codeset]', e.codeset);
  await page.selectOption('select[name=entry-occurrence]', e.occurrence);
  await page.fill('input[name=entry-from]', e.between[0]);
  await page.fill('input[name=entry-to]', e.between[1]);
  await page.fill('input[name=entry-prior]', String(e.prior_observation_days));
  const kinds = { age: 'Âge', events: 'Événements', any: 'Au moins un de', sex: 'Sexe', departement: 'Département' };
  const fillCriterion = async (box, criterion) => {
    const [kind, body] = Object.entries(criterion)[0];
    if (kind === 'age') {
      if (body.min !== undefined) await box.locator('input[name=age-min]').fill(String(body.min));
      if (body.max !== undefined) await box.locator('input[name=age-max]').fill(String(body.max));
    } else if (kind === 'events') {
      await box.locator('select[name=events-domain]').selectOption(body.domain);
      await box.locator('select[name=events-codeset]').selectOption(body.codeset);
      if (body.window) {
        await box.locator('input[name=window-from]').fill(String(body.window[0]));
        await box.locator('input[name=window-to]').fill(String(body.window[1]));
      }
      if (body.at_least !== undefined) await box.locator('input[name=at-least]').fill(String(body.at_least));
      if (body.at_most !== undefined) await box.locator('input[name=at-most]').fill(String(body.at_most));
      for (const [op, v] of Object.entries(body.value || {})) {
        await box.locator(`input[name=value-${op}]`).fill(String(v));
      }
    } else if (kind === 'sex') {
      await box.locator('select[name=sex]').selectOption(body);
    } else if (kind === 'departement') {
      const input = box.locator('input[name=departements]');
      await input.fill(body.join(', '));
      await input.press('Tab');
    } else if (kind === 'any' || kind === 'all') {
      for (const [i, child] of body.entries()) {
        const childKind = Object.keys(child)[0];
        await box.locator(':scope > .add-criterion').getByRole('button', { name: `+ ${kinds[childKind]}`, exact: true }).click();
        await fillCriterion(box.locator(`:scope > ul > li[data-child="${i}"] > .criterion`), child);
      }
    }
  };
  for (const [i, rule] of example.inclusion.entries()) {
    const kind = Object.keys(rule).find((k) => k !== 'name');
    await page.locator('section:has(#rules-title) > .add-criterion')
      .getByRole('button', { name: `+ ${kinds[kind]}`, exact: true }).click();
    const li = page.locator(`li.rule[data-rule="${i}"]`);
    await li.locator('input[name=rule-name]').fill(rule.name);
    await fillCriterion(li.locator(':scope > .criterion'), { [kind]: rule[kind] });
  }
  const built = JSON.parse(await page.locator('pre[data-definition]').textContent());
  check(JSON.stringify(built) === JSON.stringify(example),
        'the clicked definition is the contract example, field for field');
  const steps = expected.attrition.map((a) => String(a.patients));
  await page.waitForFunction((want) => {
    const items = [...document.querySelectorAll('.attrition-list li strong')].map((s) => s.textContent);
    return items.length === want.length && !document.querySelector('[aria-busy=true]');
  }, steps);
  // While editing: drafts, marked approximate, within 2 of the exact count.
  const draft = Number(await page.locator('output[data-count]').getAttribute('data-count'));
  check(await page.locator('.big-count').getAttribute('data-approximate') === 'true' &&
        Math.abs(draft - expected.count) <= 2,
        `while editing the page shows a draft count (${draft}, exact ${expected.count})`);
  await page.getByRole('button', { name: 'Compter', exact: true }).click();
  await page.locator('.big-count[data-approximate=false]').waitFor();
  const shown = await page.locator('output[data-count]').getAttribute('data-count');
  check(shown === String(expected.count), `the page's count is p4dp count's (${shown} = ${expected.count})`);
  const shownSteps = await page.locator('.attrition-list li strong').allTextContents();
  const want = expected.attrition.map((a) => (typeof a.patients === 'number'
    ? a.patients.toLocaleString('fr-FR') : a.patients));
  check(JSON.stringify(shownSteps) === JSON.stringify(want),
        `the attrition funnel is p4dp count's (${shownSteps.join(' > ')})`);
  check(usedSearch, 'a code was picked from the code search');
  // The code search by label: accents and case ignored, the label with each hit (CIM-10 from
  // the French code lists when present, else the synthetic catalogue's displays).
  const byLabel = await getJson('/api/codes?q=DIABETE%20sucre&system=icd10&project=e2e');
  const labelled = (byLabel.body && byLabel.body.codes) || [];
  check(labelled.length > 0 && labelled.every((c) => /diab.te sucr/i.test(c.label)),
        `the code search finds CIM-10 codes by label (${labelled.slice(0, 3).map((c) => `${c.code} ${c.label}`).join('; ')})`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('figure[data-chart=attrition] button', { hasText: 'CSV' }).click(),
  ]);
  const csv = fs.readFileSync(await download.path(), 'utf8').trim().split('\n');
  check(csv[0] === 'step,patients' && csv.length === expected.attrition.length + 1 &&
        csv[1] === `entrée,${expected.attrition[0].patients}`,
        `the attrition chart's data downloads as CSV (${csv.length - 1} rows)`);
  await page.locator('details.json-view summary').click();
  await screenshot('cohorts');
  await checkKeyboard('cohorts');
  await checkTextAlternatives('cohorts');

  // Surveillance: the outbreak on the map and in the alert list.
  const tSurveillance = await openPage('surveillance');
  if (target) {
    await page.selectOption('select[name=indicator]', target.indicator);
    await page.selectOption('select[name=season]', target.year);
    await page.locator(`svg.map path[data-dep="${target.departement}"]`).waitFor();
    await page.locator(`table.alerts tr[data-place="${target.departement}"][data-since="${target.alert.since}"]`).waitFor();
    check(true, `the alert list shows ${target.indicator} in ${target.departement} since ${target.alert.since}`);
    await page.locator(`table.alerts tr[data-place="${target.departement}"][data-since="${target.alert.since}"] button`).click();
    await page.locator(`output[data-week="${target.alert.since}"]`).waitFor();
    await page.locator('input[name=mapmode][value=alarm]').check();
    const fill = await page.locator(`svg.map path[data-dep="${target.departement}"]`).getAttribute('fill');
    check(fill === '#d62728', `the map colours ${target.departement} as in alarm at ${target.alert.since} (${fill})`);
    const summary = await page.locator('.map-summary').getAttribute('data-alarmed');
    check(summary.split(' ').includes(target.departement), 'the map\'s text alternative names it');
    await page.locator('.chart-box svg').first().waitFor();
    await screenshot('surveillance-alarm');
    await page.locator('input[name=mapmode][value=incidence]').check();
    // The week slider replays the season: the week moves on by itself.
    await page.getByRole('button', { name: 'Rejouer la saison' }).click();
    await page.waitForFunction((since) => {
      const w = document.querySelector('output.week-label').dataset.week;
      return w && w > since;
    }, target.alert.since);
    await page.getByRole('button', { name: 'Pause' }).click();
    check(true, 'the week slider replays the season');
  }
  // A season of influenza-like illness at its national peak, whose counts are large enough to
  // be shown.
  const peakYear = String(Number(target ? target.year : 2024) === 2024 ? 2023 : 2024);
  const nation = await getJson(`/api/surveillance/series?indicator=ili&level=nation&algorithm=none` +
                               `&from=${peakYear}-W01&to=${peakYear}-W52&project=e2e`);
  const peak = nation.body.rows.reduce((best, r) => (r.count > best.count ? r : best));
  await page.selectOption('select[name=indicator]', 'ili');
  await page.selectOption('select[name=place]', 'FR');
  await page.selectOption('select[name=season]', peakYear);
  await page.locator('h2#map-title', { hasText: 'Syndrome grippal' }).waitFor();
  await page.locator('svg.map path').first().waitFor();
  await page.waitForLoadState('networkidle');
  const peakIndex = nation.body.rows.findIndex((r) => r.period === peak.period);
  await page.locator('input[name=week]').fill(String(peakIndex));
  await page.locator(`output[data-week="${peak.period}"]`).waitFor();
  await screenshot('surveillance');
  await checkKeyboard('surveillance');
  // The map by keyboard: one tab stop, arrows between départements, Enter selects.
  await page.locator('svg.map [tabindex="0"]').focus();
  const from = await page.evaluate(() => document.activeElement.dataset.dep);
  await page.keyboard.press('ArrowRight');
  const to = await page.evaluate(() => document.activeElement.dataset.dep);
  await page.keyboard.press('Enter');
  check(from !== to && await page.locator('select[name=place]').inputValue() === to,
        `the map works by keyboard (${from} -> ${to}, selected)`);
  await checkTextAlternatives('surveillance');

  const timings = { cohorts: tCohorts, surveillance: tSurveillance };
  for (const route of ['dashboards', 'sources']) {
    timings[route] = await openPage(route);
    await page.waitForLoadState('networkidle');
    await screenshot(route);
    await checkKeyboard(route);
    await checkTextAlternatives(route);
  }
  // The first screen, measured again now that the bundle is cached as a user's would be.
  for (const route of Object.keys(timings)) {
    await page.goto('about:blank');
    timings[route] = await openPage(route);
    check(timings[route] < kFirstScreenMs, `${route}: first screen in ${timings[route]} ms (< ${kFirstScreenMs})`);
  }
  // English is one click away.
  await page.getByRole('button', { name: 'English' }).click();
  await page.locator('main h1', { hasText: 'Sources' }).waitFor();
  check(await page.evaluate(() => document.documentElement.lang) === 'en', 'the English switch sets lang="en"');
  await page.getByRole('button', { name: 'Français' }).click();

  // The auditor (second factor): the audit viewer.
  const signInWithCode = async (user, uri) => {
    await page.getByRole('button', { name: 'Déconnexion' }).click();
    await page.locator('form input[name=user]').waitFor();
    await page.fill('form input[name=user]', user);
    await page.fill('form input[name=password]', kPassword);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.locator('form .error').waitFor();
    check(true, `${user}: without the second factor the sign-in is refused`);
    await page.fill('form input[name=totp]', totpCode(totpSecret(uri)));
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.locator('header .user', { hasText: user }).waitFor();
    check(true, `${user} signs in with a TOTP code computed from the URI \`p4dp user add\` printed`);
  };
  await signInWithCode(kAuditor, auditorAdded.totp_uri);
  const navAuditor = await page.locator('header nav a').allTextContents();
  check(navAuditor.map((t) => t.trim()).join(',') === 'Audit',
        `the auditor's navigation offers the audit page only (${navAuditor.join(', ').trim()})`);
  await openPage('audit');
  await page.locator('table tbody tr').first().waitFor();
  await page.fill('input[name=user]', kUser);
  await page.fill('input[name=limit]', '5000');
  await page.getByRole('button', { name: 'Filtrer' }).click();
  await page.waitForFunction((user) => {
    const cells = [...document.querySelectorAll('section[aria-labelledby=entries-title] tbody tr td:nth-child(3)')];
    return cells.length > 0 && cells.every((c) => c.textContent === user);
  }, kUser);
  const actions = await page.locator('section[aria-labelledby=entries-title] tbody tr td:nth-child(6)').allTextContents();
  check(actions.includes('POST /api/cohorts/count'),
        `the audit viewer filters by user and shows their counts (${actions.length} entries)`);
  await page.getByRole('button', { name: 'Vérifier la chaîne' }).click();
  await page.locator('[data-verdict=true]').waitFor();
  check(true, 'the audit chain verifies from the page');
  await screenshot('audit');
  await checkKeyboard('audit');
  await page.goto('about:blank');
  timings.audit = await openPage('audit');

  // The admin (second factor): users and projects.
  await signInWithCode(kAdmin, adminAdded.totp_uri);
  const navAdmin = await page.locator('header nav a').allTextContents();
  check(navAdmin.map((t) => t.trim()).join(',') === 'Administration',
        `the admin's navigation offers the administration only (${navAdmin.join(', ').trim()})`);
  await openPage('admin');
  await page.locator('section[aria-labelledby=users-title] tbody tr').first().waitFor();
  await page.fill('input[name=new-user]', 'e2e-new');
  await page.locator('input[name=role-researcher]').check();
  await page.locator('form[aria-labelledby=add-user-title] button[type=submit]').click();
  const password = await page.locator('code[data-password]').textContent();
  check(password.length >= 16, 'adding a user shows the one-time password the server made');
  await page.getByRole('button', { name: 'J’ai noté' }).click();
  await page.fill('input[name=project-id]', 'e2e-made');
  await page.fill('input[name=title]', 'Projet créé par la page');
  await page.fill('input[name=min_cell]', '11');
  await page.fill('input[name=end]', '2099-12-31');
  await page.locator('form[aria-labelledby=create-title] button[type=submit]').click();
  await page.locator('section[aria-labelledby=projects-title] td', { hasText: 'e2e-made' }).waitFor();
  await page.selectOption('select[name=member-project]', 'e2e-made');
  await page.selectOption('select[name=member-user]', 'e2e-new');
  await page.locator('form[aria-labelledby=member-title] button[type=submit]').click();
  await page.locator('section[aria-labelledby=projects-title] tr', { hasText: 'e2e-made' })
    .locator('td', { hasText: 'e2e-new' }).waitFor();
  const made = await loginTokenWith('e2e-new', password);
  const madeMe = await getJson('/api/me', made);
  const madeProject = (madeMe.body && madeMe.body.projects || []).find((p) => p.project === 'e2e-made');
  check(madeProject && madeProject.min_cell === 11 && madeProject.end === '2099-12-31',
        'the user and project made in the page sign in and see the project as created');
  await screenshot('admin');
  await checkKeyboard('admin');
  await page.goto('about:blank');
  timings.admin = await openPage('admin');
  for (const route of ['audit', 'admin']) {
    check(timings[route] < kFirstScreenMs, `${route}: first screen in ${timings[route]} ms (< ${kFirstScreenMs})`);
  }

  // Projects: a researcher outside a project must not see its data. Needs the access routes.
  {
    // The outsider belongs to another project: project e2e's data are refused to them, by the
    // API and in the page (the project is not offered).
    const outsider = await loginToken(kOutsider);
    check(outsider !== '', 'the outsider signs in');
    const stats = await getJson('/api/stats?project=e2e', outsider);
    const count = await getJson('/api/cohorts/count?project=e2e', outsider, { method: 'POST',
      body: JSON.stringify(example) });
    const pyramid = await getJson('/api/dashboards/pyramid?project=e2e', outsider);
    check(stats.status === 403 && count.status === 403 && pyramid.status === 403,
          `a researcher outside project e2e is refused its data (${stats.status}, ${count.status}, ${pyramid.status})`);
    const other = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'fr-FR' });
    const page2 = await other.newPage();
    page2.on('pageerror', (e) => consoleErrors.push(`uncaught (outsider): ${e.message}`));
    await page2.goto(base + '/');
    await page2.fill('form input[name=user]', kOutsider);
    await page2.fill('form input[name=password]', kPassword);
    await page2.getByRole('button', { name: 'Se connecter' }).click();
    await page2.locator('select[name=project]').waitFor();
    const offered = await page2.locator('select[name=project] option').evaluateAll((os) => os.map((o) => o.value));
    check(!offered.includes('e2e') && offered.includes('other'),
          `the outsider's page offers only their own project (${offered.filter(Boolean).join(', ')})`);
    await other.close();
  }
  await page.waitForTimeout(200);
  check(consoleErrors.length === 0, `no console error (${consoleErrors.length}` +
        (consoleErrors.length ? `: ${consoleErrors.slice(0, 3).join(' | ')}` : '') + ')');
} catch (e) {
  failures.push(`the flow stopped: ${e.message.split('\n')[0]}`);
  console.log(`FAIL the flow stopped: ${e.stack}`);
  await page.screenshot({ path: path.join(shots, 'failure.png') }).catch(() => {});
} finally {
  await browser.close();
  stopServer();
}
console.log(`screenshots in ${shots}`);
console.log(`${passed} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
