// The browser journey behind tests/browser.rs: two people on two Hearth
// servers, each in their own headless Chromium context, doing what people
// do through the web pages (no API calls): sign up, start a group, write a
// post with a content warning, join that group from the other server,
// reply, and see the reply arrive. Forms sent with bad input must say what
// is wrong next to the field and keep what was typed.
//
// Every page reached is checked with axe-core; a serious or critical
// violation fails the run. Pages must also not break their own
// Content-Security-Policy.
//
// Input (environment):
//   HEARTH_A_URL, HEARTH_B_URL   base URLs of the two servers (http://127.0.0.1:PORT)
//   HEARTH_A_DOMAIN              server A's domain, as in handles (localhost:PORT)
//   HEARTH_BROWSER_OUT           folder for failure screenshots
//   HEARTH_SCREENSHOT_DIR        folder for the screenshots of the main pages
//                                (default: HEARTH_BROWSER_OUT/screenshots)
//   HEARTH_BROWSER_DEADLINE_MS   how long one wait may take (default 60000)
//   HEARTH_CHROMIUM              the Chromium binary (default /usr/bin/chromium)
//
// Output: one JSON object per line on stdout (`launched`, `step`, `axe`,
// `screenshot`, then `done` or `failed`); exit 0 only when everything passed.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function required(name) {
  const value = process.env[name];
  if (!value) {
    emit({ event: 'failed', step: 'start', message: `${name} is not set` });
    process.exit(2);
  }
  return value;
}

function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const A = required('HEARTH_A_URL').replace(/\/$/, '');
const B = required('HEARTH_B_URL').replace(/\/$/, '');
const A_DOMAIN = required('HEARTH_A_DOMAIN');
const OUT = required('HEARTH_BROWSER_OUT');
const SHOTS = process.env.HEARTH_SCREENSHOT_DIR || join(OUT, 'screenshots');
const DEADLINE_MS = Number(process.env.HEARTH_BROWSER_DEADLINE_MS || 60_000);
const CHROMIUM = process.env.HEARTH_CHROMIUM || '/usr/bin/chromium';

// Mirrors hearth_domain::post::BODY_MAX: a body one character longer is
// refused.
const BODY_MAX = 20_000;

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

const PASSWORD = 'a long enough passphrase';
const GROUP = { name: 'peers', title: 'Type 1 Peers' };
const GROUP_HANDLE = `${GROUP.name}@${A_DOMAIN}`;
const POST = {
  title: 'Pacing on bad days',
  body: 'How do you **pace** yourselves when everything hurts?',
  bodyShown: 'yourselves when everything hurts?',
  warning: 'pain, low mood',
};
const REPLY = 'Pacing helps me: I rest before I get tired, not after.';

// Pages every signed-in member can reach, checked with axe on server A
// once the journey is done. `{group}` and `{username}` are filled in.
const MEMBER_PAGES = [
  '/',
  '/groups',
  '/groups/{group}',
  '/settings',
  '/help',
  '/groups/{group}/requests',
  '/people/{username}',
  '/notifications',
];

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const FAILING_IMPACTS = new Set(['serious', 'critical']);

mkdirSync(OUT, { recursive: true });
mkdirSync(SHOTS, { recursive: true });

/** What each person's page has seen: navigations, axe checks, CSP reports. */
class Person {
  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    // Counts page loads; `checkedAt` is the count when axe last ran.
    this.navigations = 0;
    this.checkedAt = 0;
    this.cspViolations = [];
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame() && !frame.url().startsWith('about:')) this.navigations += 1;
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) {
        this.cspViolations.push({ url: page.url(), message: msg.text() });
      }
    });
  }
}

const axeFailures = [];
let pagesChecked = 0;
let stepsDone = 0;
let currentStep = 'start';
let currentPerson = null;
const people = [];

/**
 * Run axe-core in the page and record serious/critical violations.
 *
 * The pages' Content-Security-Policy forbids every script (`default-src
 * 'none'`). axe is evaluated through the DevTools protocol
 * (`page.evaluate`), which the page's CSP does not govern, so the server's
 * policy stays exactly as sent and is in force during the test. (Should a
 * Chromium ever refuse that, the fallback is Playwright's `bypassCSP`
 * context option, for the axe injection only; never weaken the server's
 * CSP for a test.)
 */
async function checkA11y(person, label = person.page.url()) {
  const { page } = person;
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) {
    await page.evaluate(`${AXE_SOURCE}\n;void 0`);
  }
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  person.checkedAt = person.navigations;
  pagesChecked += 1;
  const path = new URL(page.url()).pathname;
  const serious = result.violations.filter((v) => FAILING_IMPACTS.has(v.impact));
  const minor = result.violations.filter((v) => !FAILING_IMPACTS.has(v.impact));
  emit({
    event: 'axe',
    who: person.name,
    page: path,
    label,
    serious: serious.length,
    minor: minor.map((v) => `${v.id} (${v.impact})`),
  });
  if (serious.length > 0) {
    const shot = join(OUT, `axe-${person.name}-${slug(path)}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    for (const v of serious) {
      axeFailures.push({
        who: person.name,
        page: path,
        label,
        rule: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        targets: v.nodes.map((n) => n.target.join(' ')),
        summaries: v.nodes.map((n) => n.failureSummary),
        screenshot: shot,
      });
    }
  }
}

function slug(text) {
  return text.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-|-$/g, '') || 'home';
}

/**
 * One step of the journey. Whatever page a person ends a step on is
 * checked with axe if it has not been since it loaded, so no page the
 * journey reaches goes unchecked.
 */
async function step(name, person, body) {
  currentStep = name;
  currentPerson = person;
  const started = Date.now();
  const detail = (await body()) ?? {};
  for (const p of people) {
    if (p.navigations !== p.checkedAt) await checkA11y(p);
  }
  stepsDone += 1;
  emit({ event: 'step', step: name, who: person.name, ok: true, ms: Date.now() - started, ...detail });
}

function fail(message) {
  throw new Error(message);
}

/** Go to `path` on the person's server and expect `status`. */
async function visit(person, base, path, status = 200) {
  const response = await person.page.goto(base + path);
  const got = response?.status();
  if (got !== status) {
    fail(`GET ${base}${path}: expected HTTP ${status}, got ${got}`);
  }
  return response;
}

/**
 * Press the button named `name` and wait for the page it leads to
 * (forms post, then the server answers or redirects). Returns the final
 * response.
 */
async function press(person, name, scope = person.page) {
  const { page } = person;
  const navigated = page.waitForNavigation({ waitUntil: 'load' });
  await scope.getByRole('button', { name, exact: true }).click();
  return navigated;
}

/** Reload until `ready()` says yes, or fail at the deadline. */
async function reloadUntil(person, url, what, ready) {
  const { page } = person;
  const started = Date.now();
  let attempts = 0;
  for (;;) {
    attempts += 1;
    const response = await page.goto(url);
    if (response?.status() === 200 && (await ready())) return attempts;
    if (Date.now() - started > DEADLINE_MS) {
      fail(`timed out after ${attempts} loads of ${url} waiting for ${what} (last status ${response?.status()})`);
    }
    // A short pause between polls; the deadline bounds the whole wait.
    await page.waitForTimeout(200);
  }
}

/**
 * A viewport-sized picture of the page for the README, at `size`; with
 * `top`, scrolled so that element starts at the top of the picture.
 */
async function screenshot(person, name, size, top) {
  const { page } = person;
  const before = page.viewportSize();
  await page.setViewportSize(size);
  if (top) {
    await page.locator(top).first().evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 16));
  }
  const path = join(SHOTS, `${name}.png`);
  // Nothing on the page should be focused or hovered in a picture for the
  // README.
  await page.mouse.move(0, 0);
  await page.evaluate(() => document.activeElement?.blur?.());
  await page.screenshot({ path, fullPage: false, animations: 'disabled', caret: 'hide' });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.setViewportSize(before);
  emit({ event: 'screenshot', who: person.name, path, width: size.width, height: size.height });
}

/** The `.field` wrapping the control with id `id`. */
function fieldOf(page, id) {
  return page.locator('.field').filter({ has: page.locator(`#${id}`) });
}

/** Assert the message next to field `id` contains `text`. */
async function expectFieldError(page, id, text) {
  const field = fieldOf(page, id);
  if ((await field.count()) !== 1) fail(`expected one .field around #${id}, found ${await field.count()}`);
  const message = field.locator('.error-message');
  if ((await message.count()) === 0) fail(`no .error-message next to #${id}`);
  const shown = (await message.first().innerText()).replace(/\s+/g, ' ').trim();
  if (!shown.includes(text)) fail(`the message next to #${id} is "${shown}", expected it to say "${text}"`);
  if (!(await message.first().isVisible())) fail(`the message next to #${id} is not visible`);
  // A screen reader announces the message with the field: the control
  // points at it and says it is invalid.
  const control = page.locator(`#${id}`);
  const messageId = await message.first().getAttribute('id');
  const describedBy = ((await control.getAttribute('aria-describedby')) ?? '').split(/\s+/);
  if (!messageId || !describedBy.includes(messageId)) {
    fail(`#${id} is not described by its error message (aria-describedby="${describedBy.join(' ')}", message id "${messageId}")`);
  }
  if ((await control.getAttribute('aria-invalid')) !== 'true') fail(`#${id} is not marked aria-invalid="true"`);
  const summaryLink = page.locator(`.error-summary a[href="#${id}"]`);
  if ((await summaryLink.count()) === 0) fail(`the error summary does not link to #${id}`);
  return shown;
}

async function expectValue(page, selector, expected, what) {
  const value = await page.locator(selector).inputValue();
  if (value !== expected) {
    const show = (s) => (s.length > 60 ? `${s.slice(0, 60)}… (${s.length} characters)` : s);
    fail(`${what} was not kept: expected "${show(expected)}", the field holds "${show(value)}"`);
  }
}

async function expectChecked(page, selector, what) {
  if (!(await page.locator(selector).isChecked())) fail(`${what} was not kept checked`);
}

async function signUp(person, base, username) {
  const { page } = person;
  await visit(person, base, '/signup');
  await checkA11y(person, 'sign-up form');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#consent').check();
  const response = await press(person, 'Create my account');
  if (response?.status() !== 200 || new URL(page.url()).pathname !== '/') {
    fail(`signing up as ${username} did not lead home: ${page.url()} (HTTP ${response?.status()})`);
  }
  await page.getByText(`Logged in as ${username}`, { exact: false }).first().waitFor();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  emit({ event: 'launched', chromium: browser.version(), a: A, b: B });
  try {
    await journey(browser);
  } catch (error) {
    // Pictures of where each person was, taken before the browser closes.
    error.screenshots = await failureScreenshots();
    throw error;
  } finally {
    await browser.close().catch(() => {});
  }
}

async function journey(browser) {
  const person = async (name) => {
    const context = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1 });
    context.setDefaultTimeout(DEADLINE_MS);
    context.setDefaultNavigationTimeout(DEADLINE_MS);
    const p = new Person(name, context, await context.newPage());
    people.push(p);
    return p;
  };
  const ann = await person('ann');
  const bea = await person('bea');
  let threadA = '';

  await step('A: the welcome and log-in pages, logged out', ann, async () => {
    await visit(ann, A, '/');
    await checkA11y(ann, 'welcome');
    await visit(ann, A, '/login');
  });

  await step('A: ann signs up', ann, async () => {
    await signUp(ann, A, 'ann');
  });

  await step('A: ann starts an open group', ann, async () => {
    const { page } = ann;
    await visit(ann, A, '/groups/new');
    await checkA11y(ann, 'start a group form');
    await page.locator('#title').fill(GROUP.title);
    await page.locator('#name').fill(GROUP.name);
    await page.locator('#description').fill('For adults living with type 1 diabetes, and the people close to them.');
    await page.locator('#policy-open').check();
    await press(ann, 'Start the group');
    if (new URL(page.url()).pathname !== `/groups/${GROUP.name}`) fail(`starting the group led to ${page.url()}`);
    await page.getByRole('heading', { level: 1, name: GROUP.title }).waitFor();
  });

  await step('A: the new-post form refuses an empty title, says so next to it, keeps the rest', ann, async () => {
    const { page } = ann;
    await checkA11y(ann, 'group page');
    await page.getByRole('link', { name: 'Write a post' }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/new`);
    await checkA11y(ann, 'new-post form');
    await page.locator('#kind-my-situation').check();
    await page.locator('#body').fill(POST.body);
    await page.locator('#content_warning').fill(POST.warning);
    const response = await press(ann, 'Post to the group');
    if (response?.status() !== 422) fail(`an empty title was answered with HTTP ${response?.status()}, expected 422`);
    const message = await expectFieldError(page, 'title', 'needs a title');
    await expectValue(page, '#body', POST.body, 'the body');
    await expectValue(page, '#content_warning', POST.warning, 'the content warning');
    await expectChecked(page, '#kind-my-situation', 'the kind of post');
    await checkA11y(ann, 'new-post form with an error');
    await screenshot(ann, 'new-post-error-phone', PHONE);
    return { message };
  });

  await step('A: the new-post form refuses a body over the limit, says so next to it, keeps it', ann, async () => {
    const { page } = ann;
    const long = 'a'.repeat(BODY_MAX + 1);
    await page.locator('#title').fill(POST.title);
    await page.locator('#body').fill(long);
    const response = await press(ann, 'Post to the group');
    if (response?.status() !== 422) fail(`an over-long body was answered with HTTP ${response?.status()}, expected 422`);
    const message = await expectFieldError(page, 'body', String(BODY_MAX));
    await expectValue(page, '#body', long, 'the over-long body');
    await expectValue(page, '#title', POST.title, 'the title');
    return { message };
  });

  await step('A: the new-post form refuses a tampered CSRF token, says so, keeps the post', ann, async () => {
    const { page } = ann;
    await page.locator('#body').fill(POST.body);
    await page.locator('#content_warning').fill(POST.warning);
    // What a forged or expired form looks like to the server.
    const form = page.locator('form').filter({ has: page.getByRole('button', { name: 'Post to the group' }) });
    await form.locator('input[type=hidden][name=csrf]').evaluate((input) => {
      input.value = 'tampered';
    });
    const response = await press(ann, 'Post to the group');
    if (response?.status() !== 422) fail(`a tampered CSRF token was answered with HTTP ${response?.status()}, expected 422`);
    const message = await expectFieldError(page, 'title', 'expired');
    await expectValue(page, '#title', POST.title, 'the title');
    await expectValue(page, '#body', POST.body, 'the body');
    await expectValue(page, '#content_warning', POST.warning, 'the content warning');
    await expectChecked(page, '#kind-my-situation', 'the kind of post');
    return { message };
  });

  await step('A: ann posts with a content warning, for members only', ann, async () => {
    const { page } = ann;
    // The form as the server sent it back, with a fresh token.
    await page.locator('#vis-members').check();
    await press(ann, 'Post to the group');
    if (!/^\/posts\/\d+$/.test(new URL(page.url()).pathname)) fail(`posting led to ${page.url()}, not a thread`);
    threadA = page.url();
    await page.getByRole('heading', { level: 1, name: POST.title }).waitFor();
    const details = page.locator('article details').first();
    const summary = (await details.locator('summary').innerText()).trim();
    if (!summary.includes(POST.warning)) fail(`the folded summary says "${summary}", not the warning`);
    if (await details.evaluate((d) => d.open)) fail('the post with a content warning is open before the reader chose to');
    if (await page.getByText(POST.bodyShown).isVisible()) fail('the body shows before the content warning is opened');
    await checkA11y(ann, 'thread, content warning folded');
    await screenshot(ann, 'thread-content-warning-phone', PHONE);
    await details.locator('summary').click();
    await page.getByText(POST.bodyShown).waitFor({ state: 'visible' });
    await checkA11y(ann, 'thread, content warning opened');
    return { thread: threadA };
  });

  await step('A: the group page lists the thread', ann, async () => {
    const { page } = ann;
    await visit(ann, A, `/groups/${GROUP.name}`);
    await page.getByRole('link', { name: POST.title }).waitFor();
    await screenshot(ann, 'group-phone', PHONE);
  });

  await step('B: bea signs up on the other server', bea, async () => {
    await signUp(bea, B, 'bea');
  });

  await step('B: bea joins the group on server A by its address', bea, async () => {
    const { page } = bea;
    await page.getByRole('link', { name: 'Join a group on another server' }).click();
    await page.waitForURL(`${B}/groups/join`);
    await checkA11y(bea, 'join a group elsewhere form');
    await page.locator('#target').fill(GROUP_HANDLE);
    const response = await press(bea, 'Join group');
    if (response?.status() !== 200) fail(`joining ${GROUP_HANDLE} was answered with HTTP ${response?.status()}`);
    if ((await page.locator('.error-message, .error-summary').count()) > 0) {
      fail(`joining ${GROUP_HANDLE} failed: ${(await page.locator('.error-summary').innerText()).trim()}`);
    }
  });

  let remoteThread = '';
  await step('B: the group on A shows its thread on B once joined', bea, async () => {
    const { page } = bea;
    // The home page links to the group's page here, /groups/NAME@SERVER.
    const groupPath = `/groups/${GROUP_HANDLE}`;
    await visit(bea, B, '/');
    const link = page.locator(`main a[href="${groupPath}"]`);
    if ((await link.count()) === 0) fail(`bea's home page has no link to ${groupPath}`);
    // Threads are fetched from A after the group accepts bea: reload
    // until the thread is there.
    const loads = await reloadUntil(bea, B + groupPath, `the thread "${POST.title}"`, async () =>
      (await page.getByRole('link', { name: POST.title }).count()) > 0,
    );
    await checkA11y(bea, 'a group on another server');
    await screenshot(bea, 'group-on-another-server-desktop', DESKTOP);
    await page.getByRole('link', { name: POST.title }).click();
    await page.waitForURL(/\/posts\/\d+$/);
    remoteThread = page.url();
    return { loads, thread: remoteThread };
  });

  await step('B: bea reads the thread behind its warning and replies', bea, async () => {
    const { page } = bea;
    await page.getByRole('heading', { level: 1, name: POST.title }).waitFor();
    const details = page.locator('article details').first();
    if (await details.evaluate((d) => d.open)) fail('on B, the post is open before bea chose to');
    await checkA11y(bea, 'thread from another server');
    await details.locator('summary').click();
    await page.getByText(POST.bodyShown).waitFor({ state: 'visible' });
    // The reply form right under the thread (each reply has its own).
    const form = page.locator('form[action$="/reply"]').first();
    await form.locator('textarea').fill(REPLY);
    await press(bea, 'Send reply', form);
    await page.locator('ul.replies').getByText(REPLY).waitFor();
  });

  await step('A: ann sees bea\'s reply, marked as from another server', ann, async () => {
    const { page } = ann;
    const replies = page.locator('ul.replies article');
    const loads = await reloadUntil(ann, threadA, 'bea\'s reply', async () =>
      (await replies.filter({ hasText: REPLY }).count()) > 0,
    );
    const reply = replies.filter({ hasText: REPLY }).first();
    const text = await reply.innerText();
    if (!text.includes('from another server')) fail(`the reply does not say it is from another server: ${text}`);
    await screenshot(ann, 'thread-with-reply-desktop', DESKTOP, 'main h1');
    return { loads };
  });

  await step('A: the header counts ann\'s unread notification; the list says who replied', ann, async () => {
    const { page } = ann;
    const link = page.locator('header a[href="/notifications"]');
    const count = async () => Number(((await link.innerText()).match(/\d+/) ?? ['0'])[0]);
    // The count is read when the page starts to be built, the reply a
    // moment later: the page that first showed the reply may predate it.
    await reloadUntil(ann, threadA, 'an unread count in the header', async () => (await count()) >= 1);
    const unread = await count();
    await link.click();
    await page.waitForURL(`${A}/notifications`);
    const item = page.locator('main li').filter({ hasText: 'bea' }).filter({ hasText: 'replied' });
    if ((await item.count()) === 0) fail(`no notification says bea replied: ${(await page.locator('main').innerText()).trim()}`);
    if (!(await item.first().textContent()).includes('New')) fail('the new notification is not marked "New" in words');
    await checkA11y(ann, 'notifications, one unread');
    await screenshot(ann, 'notifications-phone', PHONE);
    await press(ann, 'Mark all as read');
    if (/\d/.test(await page.locator('header a[href="/notifications"]').innerText())) {
      fail('the header still counts unread notifications after "Mark all as read"');
    }
    return { unread: Number(unread) };
  });

  await step('A: every page a member uses passes the accessibility check', ann, async () => {
    const fill = (path) => path.replaceAll('{group}', GROUP.name).replaceAll('{username}', 'ann');
    for (const path of MEMBER_PAGES.map(fill)) {
      await visit(ann, A, path);
      await checkA11y(ann);
      if (path === '/groups') await screenshot(ann, 'groups-desktop', DESKTOP);
    }
  });

  await step('B: bea\'s pages pass the accessibility check too', bea, async () => {
    await visit(bea, B, '/');
    await checkA11y(bea, 'home with a group on another server');
    await screenshot(bea, 'home-phone', PHONE);
    await visit(bea, B, '/settings');
  });

  const csp = people.flatMap((p) => p.cspViolations.map((v) => ({ who: p.name, ...v })));
  if (csp.length > 0) {
    emit({ event: 'csp-violations', violations: csp });
    fail(`${csp.length} Content-Security-Policy violation(s) reported by Chromium (see csp-violations)`);
  }
  if (axeFailures.length > 0) {
    currentStep = 'accessibility';
    emit({ event: 'axe-violations', violations: axeFailures });
    fail(`${axeFailures.length} serious or critical accessibility violation(s) (see axe-violations)`);
  }
  emit({ event: 'done', steps: stepsDone, pages_checked: pagesChecked, screenshots: SHOTS });
}

async function failureScreenshots() {
  const saved = [];
  for (const p of people) {
    const path = join(OUT, `failure-${p.name}.png`);
    try {
      await p.page.screenshot({ path });
      saved.push({ who: p.name, path, url: p.page.url(), current: p === currentPerson });
    } catch {
      // The page may be gone with the browser; the message says enough.
    }
  }
  return saved;
}

try {
  await main();
  process.exit(0);
} catch (error) {
  emit({
    event: 'failed',
    step: currentStep,
    who: currentPerson?.name,
    message: String(error?.message ?? error),
    screenshots: error?.screenshots ?? [],
    axe: axeFailures,
  });
  process.exit(1);
}
