// The dashboard in a real browser (Debian's chromium, headless, driven by Playwright) on a
// running seed job, as a user would use it: the job page opens, the checkpoint count rises,
// a checkpoint's details show each operator's and subtask's durations and sizes as the REST
// API gives them, the failure it had shows with its operator and subtask, "Savepoint" shows a path that
// exists on disk, an API error shows on the page, "Stop with savepoint" asks first and the
// job ends FINISHED. Any JavaScript error, console error or failed request fails the test.
// Screenshots at 1280x800 and at a phone's 390x844 go to SCREENSHOT_DIR.
//
// usage: node dashboard_test.js BIN_DIR SCREENSHOT_DIR   (NODE_PATH: build/node/node_modules;
//        CHROMIUM: the browser, default /usr/bin/chromium)
'use strict';

const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {chromium} = require('playwright-core');

const [binDir, shotDir] = process.argv.slice(2).map((p) => path.resolve(p));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 20000;

async function waitFor(what, fn, timeoutMs = TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${e.message}`);
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Runs the seed job in `dir`, long enough to outlive the test (which ends it), on any free
// port; returns it once the log's "Dashboard: http://127.0.0.1:PORT/ (...)" line, which a
// user reads to find it, names its address and the API answers there.
async function startJob(dir, extraArgs) {
  fs.mkdirSync(path.join(dir, 'run'), {recursive: true, mode: 0o700});
  const logPath = path.join(dir, 'job.log');
  const log = fs.openSync(logPath, 'w');
  const child = spawn(path.join(binDir, 'fault_tolerance'),
                      ['--end', '10000000', '--delay-ms', '1', '--no-progress',
                       '-D', 'rest.bind-port=0', ...extraArgs],
                      {cwd: dir, stdio: ['ignore', log, log],
                       env: {...process.env, WEIR_RUNTIME_DIR: path.join(dir, 'run')}});
  const job = {child, logPath, dir};
  job.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({code, signal})));
  jobs.push(job);
  job.url = await waitFor(`the dashboard's address in ${logPath}`, async () => {
    const m = fs.readFileSync(logPath, 'utf8').match(/Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/ /);
    return m && m[1];
  }, 30000);
  await waitFor('the job\'s REST API', async () => (await fetch(`${job.url}/jobs/overview`)).ok);
  return job;
}

async function exitOf(job) {
  return Promise.race([job.exited, new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`the job in ${job.dir} did not exit`)), TIMEOUT_MS))]);
}

const jobs = [];

async function main() {
  fs.mkdirSync(shotDir, {recursive: true});
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-dashboard-'));
  let browser;
  let ok = false;
  try {
    // It fails once, at once, and restarts: the exceptions tab has something to show.
    const job = await startJob(work, ['--fail-at', '200']);
    const url = job.url;

    browser = await chromium.launch({executablePath: CHROMIUM, headless: true,
                                     args: ['--no-sandbox', '--disable-gpu']});
    const context = await browser.newContext({viewport: {width: 1280, height: 800}});
    const problems = [];
    const watch = (page) => {
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure().errorText}`));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
      });
      return page;
    };
    const page = watch(await context.newPage());
    let loaded = 0;

    // ---- First load: small and fast, straight to the one job's page ----
    const started = Date.now();
    await page.goto(`${url}/`);
    await page.waitForSelector('#job-state.RUNNING', {timeout: TIMEOUT_MS});
    const opened = Date.now() - started;
    for (const entry of await page.evaluate(() =>
      performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
        .filter((e) => !e.name.includes('/jobs') && !e.name.endsWith('/config'))
        .map((e) => ({name: e.name, size: e.decodedBodySize})))) {
      loaded += entry.size;
    }
    const paint = await page.evaluate(() =>
      (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime);
    console.log(`page: ${loaded} bytes (html, js, css, icon); first contentful paint ${Math.round(paint)} ms; ` +
                `job page RUNNING after ${opened} ms`);
    assert.ok(loaded > 1000 && loaded < 300 * 1024, `the page has ${loaded} bytes`);
    assert.ok(paint < 1000, `first paint after ${paint} ms`);
    const jid = (await page.textContent('#job-id')).trim();
    assert.match(jid, /^[0-9a-f]{32}$/);
    assert.equal(new URL(page.url()).hash, `#/jobs/${jid}`);

    // ---- The job graph: two vertices (chained operators), one HASH edge, live figures ----
    await page.waitForSelector('.graph g.node >> nth=1');
    assert.equal(await page.locator('.graph g.node').count(), 2);
    assert.equal(await page.locator('.graph text.ship').textContent(), 'HASH');
    assert.match(await page.locator('.graph g.node').first().textContent(), /Sequence Source.*→ zero-or-thousand/);
    await waitFor('a rate in the vertices table', async () =>
      /\d\/s/.test(await page.locator('#vertices tbody tr').nth(1).textContent()));
    await page.locator('#vertices tbody tr').nth(1).click();
    await page.waitForSelector('#subtasks tbody tr');
    assert.match(await page.textContent('#subtasks-card h2'), /running-sum -> sum-file/);
    // The seed job has no event time: no watermark, on the vertex nor on its subtask.
    await waitFor('the subtask\'s watermark', async () =>
      (await page.locator('#subtasks tbody tr td').nth(9).textContent()) === 'none');
    assert.equal(await page.locator('#vertices tbody tr').nth(1).locator('td').nth(11).textContent(), 'none');
    // And how an event-time job's would show (the page's own formatting, in the browser).
    assert.deepEqual(await page.evaluate(() => [1700000000123, -9223372036854775808, 9223372036854775807]
      .map((w) => fmt.watermark(w))), ['2023-11-14 22:13:20.123 UTC', 'none', 'end of input']);

    // ---- The checkpoint count rises ----
    const count = async () => Number((await page.textContent('#cp-completed')).replace(/,/g, ''));
    const first = await waitFor('a completed checkpoint', async () => (await count()) >= 1 && count());
    await waitFor('the checkpoint count to rise', async () => (await count()) > first);
    console.log(`checkpoints completed: ${first} then ${await count()}`);
    await page.waitForTimeout(1200);  // rates and busy figures of a full second
    await page.screenshot({path: path.join(shotDir, 'job-1280x800.png')});

    // ---- The other tabs and the jobs list ----
    await page.click('#tab-checkpoints');
    await page.waitForSelector('#history tbody tr');
    await page.waitForSelector('text=Written (checkpointed size)');  // beside the full size
    // A completed checkpoint's details: each vertex, then each subtask, with the figures the
    // REST API gives for it.
    // One row, by its id: the first completed row may be another by the time of the click.
    const cpId = Number(await page.locator('#history tbody tr:has(.badge.COMPLETED)').first()
      .getAttribute('data-checkpoint'));
    await page.locator(`#history tbody tr[data-checkpoint="${cpId}"]`).click();
    await page.waitForSelector('#checkpoint-tasks tr.subtask');
    assert.match(await page.textContent('#checkpoint-card h2'), new RegExp(`Checkpoint #${cpId}: completed`));
    const details = await (await fetch(`${url}/jobs/${jid}/checkpoints/details/${cpId}`)).json();
    const vertexNames = await page.locator('#checkpoint-tasks tr.vertex td:first-child').allTextContents();
    assert.deepEqual(vertexNames, (await (await fetch(`${url}/jobs/${jid}`)).json()).vertices
      .filter((v) => details.tasks[v.id]).map((v) => v.name));
    for (const [vertex, task] of Object.entries(details.tasks)) {
      const sub = await (await fetch(`${url}/jobs/${jid}/checkpoints/details/${cpId}/subtasks/${vertex}`)).json();
      const row = page.locator(`#checkpoint-tasks tr.subtask[data-vertex="${vertex}"][data-subtask="0"]`);
      const cells = await row.locator('td').allTextContents();
      const t = sub.subtasks[0];
      const ms = (n) => (n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);  // as the page writes them
      assert.deepEqual(cells.slice(2, 7), [t.end_to_end_duration, t.start_delay, t.alignment.duration,
                                           t.checkpoint.sync, t.checkpoint.async].map(ms),
                       `subtask 0 of ${vertex}: ${cells}`);
      const vertexRow = await page.locator(`#checkpoint-tasks tr.vertex[data-vertex="${vertex}"] td`).allTextContents();
      assert.equal(vertexRow[1], `${task.num_acknowledged_subtasks}/${task.num_subtasks}`);
      console.log(`checkpoint ${cpId}, ${vertexRow[0]}: start delay ${t.start_delay} ms, sync ${t.checkpoint.sync} ms, ` +
                  `async ${t.checkpoint.async} ms`);
    }
    await page.waitForTimeout(300);
    await page.screenshot({path: path.join(shotDir, 'checkpoints-1280x800.png'), fullPage: true});
    await page.click('#checkpoint-close');  // and closed again
    await page.waitForSelector('#checkpoint-card', {state: 'hidden'});
    await page.click('#tab-config');
    await page.waitForSelector('text=exactly_once');
    await page.click('#tab-exceptions');
    await page.waitForSelector('#exceptions tbody tr');
    const failure = await page.locator('#exceptions tbody tr').first().locator('td').allTextContents();
    assert.equal(failure[1], 'zero-or-thousand', `the failed operator in ${failure}`);
    assert.equal(failure[2], '0', `the failed subtask in ${failure}`);
    assert.equal(failure[4], 'yes', `restarted, in ${failure}`);
    assert.match(failure[5], /injected failure at element 200/);
    assert.equal(await page.textContent('#job-restarts'), '1');
    await page.screenshot({path: path.join(shotDir, 'exceptions-1280x800.png')});
    await page.click('a.brand');
    await page.waitForSelector(`a[href="#/jobs/${jid}"]`);
    assert.equal(await page.textContent('td .badge'), 'RUNNING');
    await page.click(`a[href="#/jobs/${jid}"]`);
    await page.waitForSelector('#job-state.RUNNING');

    // ---- Savepoint: its path appears and is a directory on disk ----
    await page.click('#savepoint-button');
    await page.waitForSelector('#savepoint-path', {timeout: TIMEOUT_MS});
    const savepoint = (await page.textContent('#savepoint-path')).trim();
    console.log(`savepoint: ${savepoint}`);
    assert.ok(savepoint.startsWith(work + path.sep), `${savepoint} is under ${work}`);
    assert.ok(fs.statSync(savepoint).isDirectory(), `${savepoint} is a directory`);
    assert.ok(fs.existsSync(path.join(savepoint, '_metadata')), `${savepoint} has _metadata`);

    // ---- An error of the API is shown, not swallowed: a job this API does not serve ----
    const unknown = '0'.repeat(32);
    const before = problems.length;
    await page.evaluate((id) => { location.hash = `#/jobs/${id}`; }, unknown);
    await page.waitForSelector(`.error:has-text("job ${unknown} is not known here")`);
    assert.match(await page.textContent('#live'), /no data/);
    await page.evaluate((id) => { location.hash = `#/jobs/${id}`; }, jid);
    await page.waitForSelector('#job-state.RUNNING');
    // The next refresh that succeeds takes the error away.
    await page.waitForSelector('.error', {state: 'detached', timeout: 5000});
    // Its 404s (and the browser's console lines about them) were the point, not a fault.
    const expected = (p) => p.includes(unknown) || /status of 404/.test(p);
    problems.splice(before, problems.length - before, ...problems.slice(before).filter((p) => !expected(p)));

    // ---- A phone's width ----
    await page.setViewportSize({width: 390, height: 844});
    await page.waitForTimeout(1200);
    await page.screenshot({path: path.join(shotDir, 'job-390x844.png'), fullPage: true});
    await page.setViewportSize({width: 1280, height: 800});

    // ---- Ending the job asks first: "no" leaves it running ----
    await page.click('#cancel-button');
    await page.waitForSelector('#confirm[open]');
    await page.click('#confirm-no');
    await page.waitForTimeout(1500);
    assert.equal(await page.textContent('#job-state'), 'RUNNING');

    // ---- Stop with a savepoint, confirmed: the job ends FINISHED ----
    await page.click('#stop-button');
    await page.waitForSelector('#confirm[open]');
    assert.match(await page.textContent('#confirm-title'), /Stop the job/);
    await page.click('#confirm-yes');
    await page.waitForSelector('#action-result:has-text("Stop with savepoint completed")', {timeout: TIMEOUT_MS});
    const stopped = (await page.textContent('#savepoint-path')).trim();
    assert.notEqual(stopped, savepoint);
    assert.ok(fs.existsSync(path.join(stopped, '_metadata')), `${stopped} has _metadata`);
    await page.waitForSelector('#job-state.FINISHED', {timeout: TIMEOUT_MS});
    assert.match(await page.textContent('#job-ended'), /The job has ended: FINISHED/);
    assert.ok(await page.isDisabled('#stop-button'), 'the buttons of an ended job are disabled');
    console.log(`stopped with savepoint ${stopped}; the page shows FINISHED`);
    await page.screenshot({path: path.join(shotDir, 'finished-1280x800.png')});
    const {code, signal} = await exitOf(job);
    assert.equal(code, 0, `the job exited with ${code} (${signal})`);
    await page.waitForTimeout(500);  // a request the page should not have made would fail now

    // ---- Cancel, confirmed, on a second job: it ends CANCELED ----
    const second = await startJob(path.join(work, 'second'), []);
    const page2 = watch(await context.newPage());
    await page2.goto(`${second.url}/`);
    await page2.waitForSelector('#job-state.RUNNING');
    await page2.click('#cancel-button');
    await page2.waitForSelector('#confirm[open]');
    assert.match(await page2.textContent('#confirm-title'), /Cancel the job/);
    await page2.click('#confirm-yes');
    await page2.waitForSelector('#job-state.CANCELED', {timeout: TIMEOUT_MS});
    assert.match(await page2.textContent('#job-ended'), /The job has ended: CANCELED/);
    const cancelled = await exitOf(second);
    assert.equal(cancelled.code, 130, `the cancelled job exited with ${cancelled.code}`);
    await page2.waitForTimeout(500);
    console.log('cancelled a second job from its page: CANCELED, exit code 130');

    assert.deepEqual(problems, [], 'the page had errors');
    console.log(`screenshots in ${shotDir}`);
    ok = true;
  } finally {
    if (browser) await browser.close();
    for (const j of jobs) {
      if (j.child.exitCode === null && j.child.signalCode === null) j.child.kill('SIGKILL');
      await j.exited;
    }
    if (ok) {
      fs.rmSync(work, {recursive: true, force: true});
    } else {
      for (const j of jobs) {
        console.error(`kept ${j.dir}; the job's log ends:\n` +
                      fs.readFileSync(j.logPath, 'utf8').split('\n').slice(-20).join('\n'));
      }
    }
  }
}

main().then(() => console.log('dashboard_test: 1 passed, 0 failed'), (e) => {
  console.error(`FAILED: ${e.stack || e}`);
  process.exit(1);
});
