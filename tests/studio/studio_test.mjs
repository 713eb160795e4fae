// The studio driven in Debian's chromium by playwright-core (headless) against a real
// `skillrt serve`: sign in, search, run from the generated form and follow its events, approve
// from the inbox, cancel, scopes, XSS in a skill's SKILL.md and description, the pages' headers,
// an agent run made by `skillrt agent` against a scripted model endpoint, the server's search.
// Each scenario prints one line; the last line is a verdict. Screenshots are saved into
// <build>/studio-screenshots.
// Usage: node studio_test.mjs --cli SKILLRT --build BUILD_DIR --chromium PATH --source REPO
//          --python PYTHON (the tests' environment, for the scripted model endpoint)
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
};
const cli = arg('cli');
const build = path.resolve(arg('build'));
const chromiumPath = arg('chromium');
const source = path.resolve(arg('source'));
const python = arg('python');
const shots = path.join(build, 'studio-screenshots');
fs.mkdirSync(shots, { recursive: true });
// playwright-core as studio/package-lock.json pins it, installed by scripts/build-studio.sh.
const require = createRequire(path.join(build, 'studio-src', 'package.json'));
const { chromium } = require('playwright-core');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function check(ok, message) {
  if (!ok) throw new Error(message);
}

// --- The service -------------------------------------------------------------------------
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'skillrt-studio-'));
const policy = path.join(home, 'policy.toml');
// The calculator asks for approval; every other skill runs without asking.
fs.writeFileSync(policy, '[[rule]]\nname = "ask-calculator"\neffect = "ask"\nskills = ["calculator"]\n');
const globals = ['--home', home, '--policy', policy, '--skills', path.join(source, 'examples', 'skills'),
  '--skills', path.join(source, 'tests', 'studio', 'skills')];
const token = (scope, name) => JSON.parse(execFileSync(cli, [...globals, 'token', 'create', '--scope', scope,
  '--name', name, '--json'], { encoding: 'utf8' }));
const tokens = { admin: token('admin', 'ops'), run: token('run', 'agent'), approve: token('approve', 'alice') };

const portFile = path.join(home, 'port');
const log = fs.openSync(path.join(home, 'serve.log'), 'a');
const server = spawn(cli, [...globals, 'serve', '--listen', '127.0.0.1:0', '--port-file', portFile,
  '--studio', path.join(build, 'studio')], { stdio: ['ignore', 'ignore', log] });
let port = 0;
for (let i = 0; i < 300 && !port; i++) {
  if (server.exitCode !== null) throw new Error(`serve exited: ${fs.readFileSync(path.join(home, 'serve.log'), 'utf8')}`);
  if (fs.existsSync(portFile)) port = Number(fs.readFileSync(portFile, 'utf8').trim()) || 0;
  if (!port) await sleep(100);
}
if (!port) throw new Error('serve did not start');
const base = `http://127.0.0.1:${port}`;

async function apiCall(method, route, tok, body) {
  const res = await fetch(`${base}/v1${route}`, {
    method,
    headers: { Authorization: `Bearer ${tok.token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function waitRun(id, tok, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await apiCall('GET', `/runs/${id}`, tok);
    if (r.body?.done) return r.body;
    await sleep(100);
  }
  throw new Error(`run ${id} did not finish in ${ms} ms`);
}

// --- The browser ---------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  // Chromium's own sandbox needs an unprivileged user namespace setup that root in a
  // container does not get; the pages it loads here are the studio's and the test's own.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const problems = { dialogs: [], csp: [], foreign: [] };
let xssBlocked = 0;  // CSP reports of the hostile SKILL.md's inline attributes, all blocked.

let lastPage = null;  // Shown in a screenshot when a scenario fails.
async function newPage(viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  lastPage = page;
  page.on('dialog', async (d) => {
    problems.dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) {
      const where = m.location();
      problems.csp.push({ text: `${m.text().split('.')[0]} (${where.url}:${where.lineNumber})`, page: page.url() });
    }
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(base) && !url.startsWith('data:')) problems.foreign.push(url);
  });
  return page;
}

async function signIn(page, tok) {
  await page.goto(`${base}/`);
  await page.waitForURL(/\/studio\/$/);
  await page.getByLabel('Token').fill(tok.token);
  await page.getByLabel('Token').press('Enter');
  await page.getByTestId('scope').waitFor();
}

// Types `query` into the skills page's search and waits for the server's answer, whose best
// hit must be `best`; returns the cards. The service's first search loads the model and
// indexes the catalogue, which takes a while on a loaded machine.
async function searchFor(page, query, best) {
  const searched = page.waitForResponse((r) => r.url().includes('/v1/search?') &&
    new URL(r.url()).searchParams.get('q') === query, { timeout: 180000 });
  await page.getByLabel('Search skills').fill(query);
  const res = await searched;
  check(res.status() === 200, `/v1/search answered ${res.status()}`);
  await page.getByTestId('search-state').filter({ hasText: 'best matches' }).waitFor();
  const cards = page.getByRole('list', { name: 'Skills found' }).getByRole('listitem');
  const first = await cards.first().innerText();
  check(first.includes(best), `the best hit for "${query}" is not ${best}: ${first}`);
  check(/score \d/.test(first), `the hit does not say why it matched: ${first}`);
  return cards;
}

const shot = (page, name, fullPage = true) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });

const scenarios = [];
const scenario = (name, fn) => scenarios.push({ name, fn });

scenario('headers: CSP, nosniff, no Referer, types, no traversal, API needs a token', async () => {
  let res = await fetch(`${base}/`, { redirect: 'manual' });
  check(res.status === 302 && res.headers.get('location') === '/studio/', `/ answers ${res.status} ${res.headers.get('location')}`);
  res = await fetch(`${base}/studio/`);
  const csp = res.headers.get('content-security-policy') || '';
  for (const part of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]) {
    check(csp.includes(part), `CSP lacks ${part}: ${csp}`);
  }
  check(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), `CSP allows unsafe code: ${csp}`);
  check(res.headers.get('x-content-type-options') === 'nosniff', 'no nosniff');
  check(res.headers.get('referrer-policy') === 'no-referrer', 'no Referrer-Policy');
  check(res.headers.get('content-type').startsWith('text/html'), `index type ${res.headers.get('content-type')}`);
  const index = await res.text();
  check(!/<script(?![^>]*\bsrc=)[^>]*>/.test(index), 'index.html has an inline script');
  const js = /src="(\/studio\/assets\/[^"]+\.js)"/.exec(index)[1];
  res = await fetch(`${base}${js}`);
  check(res.status === 200 && res.headers.get('content-type').startsWith('text/javascript'), `script type ${res.headers.get('content-type')}`);
  fs.writeFileSync(path.join(home, 'secret.txt'), 'not for the web');
  // Sent as written (fetch would resolve the dots itself).
  const raw = (target) => new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: target }, (r) => {
      let body = '';
      r.on('data', (c) => (body += c));
      r.on('end', () => resolve({ status: r.statusCode, body }));
    }).on('error', reject);
  });
  for (const bad of ['/studio/../tokens.json', '/studio/%2e%2e/tokens.json', '/studio/..%2ftokens.json',
    '/studio/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/studio/.sources', '/studio//etc/passwd', '/studio/assets/',
    '/studio/assets/../../tokens.json', '/studio/index.html%00.js']) {
    const r = await raw(bad);
    check(r.status === 404 && !r.body.includes('sha256') && !r.body.includes('root:'), `${bad} answered ${r.status}`);
  }
  res = await fetch(`${base}/v1/skills`);
  check(res.status === 401, `/v1/skills without a token: ${res.status}`);
  // A page of another origin is still refused.
  res = await fetch(`${base}/v1/skills`, { headers: { Authorization: `Bearer ${tokens.admin.token}`, Origin: 'http://evil.example' } });
  check(res.status === 403, `a foreign Origin: ${res.status}`);
});

scenario('sign in with a token (a wrong one is refused)', async () => {
  const page = await newPage();
  await page.goto(`${base}/studio/`);
  await page.getByLabel('Token').fill('skrt_' + '0'.repeat(64));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'unknown or revoked token' }).waitFor();
  await shot(page, 'signin');
  await page.getByLabel('Token').fill(tokens.admin.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Skills' }).waitFor();
  check(!page.url().includes(tokens.admin.token), 'the token is in the URL');
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
  check(!stored.includes('skrt_'), 'the token was stored by the page');
  await page.context().close();
});

scenario('find a skill by search, run it from the generated form, see events and result', async () => {
  const page = await newPage();
  await signIn(page, tokens.admin);
  await searchFor(page, 'sentences title', 'text-processor');
  await page.getByLabel('Search skills').fill('');
  await page.waitForFunction(() => document.querySelectorAll('.cards > li').length > 5);
  await searchFor(page, 'sentences title', 'text-processor');
  await page.getByRole('link', { name: 'text-processor' }).click();
  await page.getByRole('heading', { name: 'What it may do' }).waitFor();
  // Validation before sending: the required field is empty, so nothing is started.
  await page.getByRole('button', { name: 'Run' }).click();
  await page.getByRole('alert').filter({ hasText: 'required' }).waitFor();
  await page.getByLabel('top_n').fill('zero');
  await page.getByRole('button', { name: 'Run' }).click();
  await page.getByRole('alert').filter({ hasText: 'a whole number' }).waitFor();
  check((await page.locator('.live-run').count()) === 0, 'a run started from an invalid form');
  await page.getByLabel('top_n').fill('2');
  await page.getByLabel('text *').fill('Hello world. Hello studio.');
  await page.getByLabel('operations').fill('word_count, top_words');
  await page.getByRole('button', { name: 'Run' }).click();
  await page.locator('.events [data-type="finished"]').waitFor({ timeout: 30000 });
  const types = await page.locator('.events li').evaluateAll((els) => els.map((e) => e.dataset.type));
  for (const t of ['accepted', 'planned', 'decided', 'started', 'finished']) check(types.includes(t), `no ${t} event: ${types}`);
  await page.getByTestId('outcome-status').waitFor();
  const status = await page.getByTestId('outcome-status').innerText();
  check(status === 'ok', `outcome ${status}`);
  const output = JSON.parse(await page.getByTestId('outcome-output').innerText());
  check(JSON.stringify(output).includes('"word_count":4'), `output ${JSON.stringify(output)}`);
  await page.setViewportSize({ width: 1280, height: 1400 });
  await shot(page, 'skill-run', false);
  await page.context().close();
});

scenario('a run asking for approval appears in the inbox, is approved there, completes', async () => {
  const r = await apiCall('POST', '/runs', tokens.run, { skill: 'calculator', input: { expression: '6*7' }, run_id: 'studio-asks-1' });
  check(r.status === 202, `start: ${r.status} ${JSON.stringify(r.body)}`);
  const page = await newPage();
  await signIn(page, tokens.approve);
  await page.getByRole('link', { name: 'Approvals' }).click();
  const card = page.locator('[data-run-id="studio-asks-1"]');
  await card.waitFor({ timeout: 15000 });
  check((await card.innerText()).includes('calculator'), 'the request does not name the skill');
  await shot(page, 'approvals');
  await card.getByRole('button', { name: 'Approve once' }).click();
  await card.waitFor({ state: 'detached', timeout: 10000 });
  const run = await waitRun('studio-asks-1', tokens.run);
  check(run.outcome?.status === 'ok', `outcome ${JSON.stringify(run.outcome?.status)}`);
  check(JSON.stringify(run.outcome.output).includes('42'), `output ${JSON.stringify(run.outcome.output)}`);
  await page.context().close();
});

scenario('cancel a running run from the UI', async () => {
  const page = await newPage();
  await signIn(page, tokens.admin);
  await page.goto(`${base}/studio/#/skills/studio-slow`);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.locator('.events [data-type="output"]').first().waitFor({ timeout: 20000 });
  await shot(page, 'run-live');
  await page.getByRole('button', { name: 'Cancel run' }).click();
  await page.locator('.events [data-type="finished"]').waitFor({ timeout: 20000 });
  await page.getByTestId('outcome-status').waitFor();
  const status = await page.getByTestId('outcome-status').innerText();
  check(status === 'cancelled', `outcome ${status}`);
  await page.getByRole('link', { name: 'Runs', exact: true }).click();
  await page.getByLabel('Status').selectOption('cancelled');
  await page.getByRole('cell', { name: 'studio-slow' }).first().waitFor();
  await page.getByLabel('Status').selectOption('');
  await page.getByRole('cell', { name: 'text-processor' }).first().waitFor();
  await shot(page, 'runs');
  await page.context().close();
});

scenario('a token without the approve scope sees no inbox, and the API refuses it too', async () => {
  const page = await newPage();
  await signIn(page, tokens.run);
  const nav = page.getByRole('navigation', { name: 'Pages' });
  await nav.getByRole('link', { name: 'Runs', exact: true }).waitFor();
  check((await nav.getByRole('link', { name: 'Approvals' }).count()) === 0, 'the inbox link is shown');
  await page.goto(`${base}/studio/#/approvals`);
  await page.getByRole('alert').filter({ hasText: 'does not allow' }).waitFor();
  check((await page.locator('.approval').count()) === 0, 'approval cards are shown');
  const r = await apiCall('POST', '/approvals/anything', tokens.run, { decision: 'approve' });
  check(r.status === 403 && r.body.error.code === 'forbidden', `the API answered ${r.status}`);
  await page.context().close();
});

scenario('XSS in SKILL.md and in the description renders as text', async () => {
  const page = await newPage();
  await signIn(page, tokens.admin);
  const card = (await searchFor(page, 'harmless', 'studio-xss')).first();
  check((await card.innerText()).includes('<img src=x onerror='), 'the description is not shown as text');
  await card.getByRole('link').click();
  await page.getByTestId('skill-md').locator('h1').waitFor();
  await sleep(500);
  const md = page.getByTestId('skill-md');
  check((await page.getByTestId('skill-description').innerText()).includes('<script>'), 'description not literal');
  const INJECTED = '.markdown script, .markdown iframe, .markdown form, .markdown input, .markdown [onerror], ' +
    '.markdown [onmouseover], .markdown svg, .markdown [style], .markdown object, .markdown embed';
  const injected = await page.evaluate((INJECTED) => ({
    xss: window.__xss,
    found: [...document.querySelectorAll(INJECTED)].map((e) => e.outerHTML.slice(0, 120)),
    elements: document.querySelectorAll(INJECTED).length + document.querySelectorAll('[data-testid=skill-description] *').length,
    anywhere: document.querySelectorAll('#xss-link[href^="javascript"], #xss-div[onmouseover], #xss-div[style], #xss-input, script:not([src])').length,
    images: document.querySelectorAll('.markdown img').length,
    links: [...document.querySelectorAll('.markdown a')].map((a) => a.getAttribute('href') || ''),
  }), INJECTED);
  check(injected.xss === undefined, `injected script ran: ${injected.xss}`);
  check(injected.elements === 0 && injected.anywhere === 0, `${injected.elements + injected.anywhere} injected elements: ${injected.found}`);
  check(injected.images === 0, 'a remote image was kept');
  check(injected.links.every((h) => !/^\s*javascript:/i.test(h)), `javascript: link kept: ${injected.links}`);
  check((await md.innerText()).includes('2 < 3 & "quotes"'), 'plain text was mangled');
  await page.mouse.move(300, 300);
  await sleep(200);
  check(await page.evaluate(() => window.__xss === undefined), 'a handler ran on hover');
  // DOMPurify parses SKILL.md in an inert document that carries the page's CSP, so Chromium
  // reports the inline handlers and style attributes of the hostile text as blocked while
  // they are parsed, before they are removed. Those reports are the CSP working; anything
  // else (a script, a frame, a connection) is not expected.
  const here = problems.csp.filter((p) => p.page.includes('#/skills/studio-xss'));
  for (const p of here) check(/inline event handler|inline style/.test(p.text), `CSP: ${p.text}`);
  xssBlocked = here.length;
  problems.csp = problems.csp.filter((p) => !here.includes(p));
  await shot(page, 'xss');
  await page.context().close();
});

scenario('search by words not in the name: the server\'s hybrid search finds the skill', async () => {
  const page = await newPage();
  await signIn(page, tokens.admin);
  // None of these words is in "unit-converter" (nor in "calculator" for the second).
  const cards = await searchFor(page, 'how many kilograms is two pounds', 'unit-converter');
  check((await cards.count()) > 1, 'one hit only: the page is not showing the ranked list');
  await searchFor(page, 'multiply two numbers exactly', 'calculator');
  await shot(page, 'skills-search');
  await page.context().close();
});

scenario('agent runs: a real `skillrt agent` run, its tool call, nested skill run, text as text', async () => {
  // The scripted OpenAI-compatible endpoint (tests/agent/fake_llm.py): one call of
  // text-processor, then an answer whose text tries script, a handler and a remote image.
  const llmPortFile = path.join(home, 'llm-port');
  const llm = spawn(python, [path.join(source, 'tests', 'agent', 'fake_llm.py'), '--scenario', 'studio',
    '--port-file', llmPortFile], { stdio: ['ignore', 'ignore', log] });
  let result;
  try {
    let llmPort = 0;
    for (let i = 0; i < 1200 && !llmPort; i++) {  // Importing the SDKs is slow on a loaded machine.
      if (llm.exitCode !== null) throw new Error('the scripted model endpoint exited');
      if (fs.existsSync(llmPortFile)) llmPort = Number(fs.readFileSync(llmPortFile, 'utf8').trim()) || 0;
      if (!llmPort) await sleep(100);
    }
    check(llmPort, 'the scripted model endpoint did not start');
    const agent = spawn(cli, [...globals, 'agent', '--base-url', `http://127.0.0.1:${llmPort}/v1`,
      '--model', 'fake-model', '--expose', 'text-processor', '--approve', 'refuse', '--json',
      'Count the words of: Hello world. Hello studio.'], { stdio: ['ignore', 'pipe', log] });
    let out = '';
    agent.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => agent.on('exit', r));
    // The answer stalls 10 s after its first chunk (fake_llm's studio scenario): open the run
    // once its tool call has its result, and watch the rest arrive live.
    const runs = path.join(home, 'runs');
    let id = null;
    for (let i = 0; i < 1200 && !id; i++) {
      const dir = fs.existsSync(runs) ? fs.readdirSync(runs).find((n) => n.startsWith('agent-')) : null;
      if (dir && fs.readFileSync(path.join(runs, dir, 'events.jsonl'), 'utf8').includes('"type":"tool_result"')) id = dir;
      else await sleep(100);
    }
    check(id, 'the agent run did not reach its tool result');
    const page = await newPage();
    await signIn(page, tokens.run);
    await page.goto(`${base}/studio/#/agent-runs/${id}`);
    await page.locator('[data-tool-call="call_words"]').waitFor();
    check((await page.getByTestId('agent-unfinished').count()) === 1, 'the run is not shown as still running');
    await page.getByTestId('agent-status').filter({ hasText: 'finished' }).waitFor({ timeout: 60000 });
    await page.getByTestId('model-text').waitFor();
    check((await page.getByTestId('agent-unfinished').count()) === 0, 'still shown as running');
    await page.context().close();
    await exited;
    result = JSON.parse(out);
  } finally {
    llm.kill('SIGTERM');
  }
  check(result.status === 'answered' && result.tool_calls === 1, `agent: ${JSON.stringify(result)}`);
  const page = await newPage();
  await signIn(page, tokens.run);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Agent runs' }).click();
  const row = page.locator(`[data-agent-run="${result.run_id}"]`);
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  check(cells[1].startsWith('Count the words') && cells[2] === 'fake-model' && cells[4] === 'finished', `row: ${cells}`);
  // Two turns, one tool call, and the tokens fake_llm reports (50 + 20, then 10 + 5).
  check(cells[5] === '2' && cells[6] === '1' && cells[7] === '85', `counts: ${cells.slice(5)}`);
  await shot(page, 'agent-runs');
  // Keyboard only: Tab to the run's link and open it.
  let found = false;
  for (let i = 0; i < 30 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate((id) => document.activeElement?.textContent === id, result.run_id);
  }
  check(found, 'the run link is not reachable with Tab');
  await page.keyboard.press('Enter');
  const call = page.locator('[data-tool-call="call_words"]');
  await call.waitFor();
  check((await call.getByTestId('tool-arguments').innerText()).includes('"word_count"'), 'the arguments are not shown');
  check((await call.getByTestId('tool-status').innerText()) === 'ok', 'the call\'s status is not ok');
  check((await call.getByTestId('tool-result').innerText()).includes('word_count'), 'the result is not shown');
  // The skill run it started, with its engine events nested under the call.
  check((await call.locator('.skill-run h4').innerText()).includes(`${result.run_id}-c1`), 'no skill run id');
  const nested = await call.locator('.events li').evaluateAll((els) => els.map((e) => e.dataset.type));
  for (const t of ['accepted', 'planned', 'started', 'finished']) check(nested.includes(t), `no nested ${t}: ${nested}`);
  check((await page.getByTestId('agent-status').innerText()) === 'finished', 'the ending is not shown');
  // The model's text: Markdown rendered, its HTML shown as text, nothing injected or fetched.
  const said = page.getByTestId('model-text');
  const text = await said.innerText();
  check(text.includes('<img src=x onerror="window.__xss=4">') && text.includes('<script>window.__xss=5</script>'),
    `the model's HTML is not shown as text: ${text}`);
  check((await said.locator('strong').innerText()) === '4 words', 'the Markdown is not rendered');
  const injected = await page.evaluate(() => ({
    xss: window.__xss,
    elements: document.querySelectorAll('.conversation img, .conversation script, .conversation [onerror]').length,
  }));
  check(injected.xss === undefined && injected.elements === 0, `injected: ${JSON.stringify(injected)}`);
  check(text.includes('[image: pixel]'), 'the remote image was not replaced by its alt text');
  await page.setViewportSize({ width: 1280, height: 1500 });
  await shot(page, 'agent-run', false);
  await page.setViewportSize({ width: 390, height: 844 });
  await sleep(200);
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `on a phone the page is ${wide}px wider than the screen`);
  await shot(page, 'phone-agent-run');
  await page.context().close();
});

scenario('jobs, audit chain, keyboard navigation', async () => {
  const job = await apiCall('POST', '/jobs', tokens.run, { skill: 'text-processor', input: { text: 'a b c' } });
  check(job.status === 201, `job: ${job.status}`);
  const page = await newPage();
  await signIn(page, tokens.admin);
  // Keyboard only: Tab to the Jobs link and follow it.
  let found = false;
  for (let i = 0; i < 20 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement?.textContent === 'Jobs');
  }
  check(found, 'the Jobs link is not reachable with Tab');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Jobs' }).waitFor();
  await page.getByRole('cell', { name: 'text-processor' }).first().waitFor();
  check((await page.getByLabel('Queue depth').innerText()).includes('Ready to run now'), 'no queue depth');
  await shot(page, 'jobs');
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByTestId('chain-state').waitFor();
  check((await page.getByTestId('chain-state').innerText()).includes('intact'), 'the chain is not shown intact');
  await page.getByRole('cell', { name: 'text-processor' }).first().waitFor();  // The job's run.
  await shot(page, 'audit');
  await page.context().close();
});

scenario('a phone-sized screen: one column, nothing wider than the screen', async () => {
  const page = await newPage({ width: 390, height: 844 });
  await signIn(page, tokens.admin);
  await page.goto(`${base}/studio/#/skills/text-processor`);
  await page.getByRole('heading', { name: 'What it may do' }).waitFor();
  const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(wide <= 0, `the page is ${wide}px wider than the screen`);
  await shot(page, 'phone-skill');
  await page.context().close();
});

scenario('no dialog, no CSP violation, no request to another host', async () => {
  check(problems.dialogs.length === 0, `dialogs: ${problems.dialogs}`);
  check(problems.csp.length === 0, `CSP: ${problems.csp.slice(0, 3).map((p) => `${p.text} on ${p.page}`)}`);
  check(problems.foreign.length === 0, `requests elsewhere: ${problems.foreign.slice(0, 3)}`);
});

// --- Run ----------------------------------------------------------------------------------
const failed = [];
let ran = 0;
try {
  // STUDIO_ONLY=REGEX runs the scenarios whose name matches (while working on one).
  const only = process.env.STUDIO_ONLY ? new RegExp(process.env.STUDIO_ONLY) : null;
  for (const { name, fn } of scenarios.filter((s) => !only || only.test(s.name))) {
    const t0 = Date.now();
    ran++;
    try {
      await fn();
      console.log(`  ok    ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      failed.push(name);
      console.log(`  FAIL  ${name}: ${e.message.split('\n')[0]}`);
      if (lastPage && !lastPage.isClosed()) {
        const file = path.join(shots, `failed-${failed.length}.png`);
        await lastPage.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.log(`        the page then: ${file}`);
        await lastPage.context().close().catch(() => {});
      }
    }
    lastPage = null;
  }
} finally {
  await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode !== null ? r() : server.on('exit', r)));
}
if (failed.length) {
  console.log(`  server log: ${path.join(home, 'serve.log')}`);
  console.log(`studio-browser: FAILED ${failed.length} of ${ran} scenarios (${failed.join('; ')}); screenshots in ${shots}`);
  process.exit(1);
}
fs.rmSync(home, { recursive: true, force: true });
if (xssBlocked) console.log(`  (the CSP also blocked ${xssBlocked} inline attributes of the hostile SKILL.md while it was parsed for sanitising)`);
console.log(`studio-browser: OK, all ${ran} scenarios in ${path.basename(chromiumPath)} (screenshots in ${shots})`);
