// What every browser journey shares (journey.mjs, moderation.mjs): one
// headless Chromium, one context per person, an axe-core check of every
// page reached, steps reported as JSON lines on stdout, and screenshots
// when something fails.
//
// Input (environment), besides each journey's own:
//   HEARTH_BROWSER_OUT           folder for failure screenshots
//   HEARTH_SCREENSHOT_DIR        folder for the screenshots of the main pages
//                                (default: HEARTH_BROWSER_OUT/screenshots)
//   HEARTH_BROWSER_DEADLINE_MS   how long one wait may take (default 60000)
//   HEARTH_CHROMIUM              the Chromium binary (default /usr/bin/chromium)
//
// Output: one JSON object per line on stdout (`launched`, `step`, `axe`,
// `screenshot`, then `done` or `failed`); the process exits 0 only when
// everything passed.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

export function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export function required(name) {
  const value = process.env[name];
  if (!value) {
    emit({ event: 'failed', step: 'start', message: `${name} is not set` });
    process.exit(2);
  }
  return value;
}

export const OUT = required('HEARTH_BROWSER_OUT');
export const SHOTS = process.env.HEARTH_SCREENSHOT_DIR || join(OUT, 'screenshots');
export const DEADLINE_MS = Number(process.env.HEARTH_BROWSER_DEADLINE_MS || 60_000);
const CHROMIUM = process.env.HEARTH_CHROMIUM || '/usr/bin/chromium';

export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export const PASSWORD = 'a long enough passphrase';

const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const FAILING_IMPACTS = new Set(['serious', 'critical']);

mkdirSync(OUT, { recursive: true });
mkdirSync(SHOTS, { recursive: true });

/** What each person's page has seen: navigations, axe checks, CSP reports. */
export class Person {
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
const run = { pagesChecked: 0, stepsDone: 0, currentStep: 'start', currentPerson: null };
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
export async function checkA11y(person, label = person.page.url()) {
  const { page } = person;
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) {
    await page.evaluate(`${AXE_SOURCE}\n;void 0`);
  }
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }),
  );
  person.checkedAt = person.navigations;
  run.pagesChecked += 1;
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
export async function step(name, person, body) {
  run.currentStep = name;
  run.currentPerson = person;
  const started = Date.now();
  const detail = (await body()) ?? {};
  for (const p of people) {
    if (p.navigations !== p.checkedAt) await checkA11y(p);
  }
  run.stepsDone += 1;
  emit({ event: 'step', step: name, who: person.name, ok: true, ms: Date.now() - started, ...detail });
}

export function fail(message) {
  throw new Error(message);
}

/** Go to `path` on the person's server and expect `status`. */
export async function visit(person, base, path, status = 200) {
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
export async function press(person, name, scope = person.page) {
  const { page } = person;
  const navigated = page.waitForNavigation({ waitUntil: 'load' });
  await scope.getByRole('button', { name, exact: true }).click();
  return navigated;
}

/** Reload until `ready()` says yes, or fail at the deadline. */
export async function reloadUntil(person, url, what, ready) {
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
export async function screenshot(person, name, size, top) {
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

/**
 * Fail if the page needs scrolling sideways at `width` CSS pixels (the
 * narrowest phones, 320 by default): everything must reflow.
 */
export async function expectReflows(person, width = 320) {
  const { page } = person;
  const before = page.viewportSize();
  await page.setViewportSize({ width, height: before.height });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.setViewportSize(before);
  if (wide > width) fail(`${page.url()} is ${wide} px wide at a ${width} px wide screen: it does not reflow`);
}

/** The `.field` wrapping the control with id `id`. */
export function fieldOf(page, id) {
  return page.locator('.field').filter({ has: page.locator(`#${id}`) });
}

/**
 * Assert the message next to the control `id` contains `text`, that the
 * control points at it and says it is invalid, and that the error summary
 * links to it. Returns the message.
 */
export async function expectFieldError(page, id, text) {
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

/**
 * The same for a group of radio buttons: the message inside the fieldset
 * `id`, which points at it, and the summary links to it.
 */
export async function expectGroupError(page, id, text) {
  const group = page.locator(`fieldset#${id}`);
  if ((await group.count()) !== 1) fail(`expected one fieldset #${id}, found ${await group.count()}`);
  const message = group.locator('.error-message');
  if ((await message.count()) === 0) fail(`no .error-message in fieldset #${id}`);
  const shown = (await message.first().innerText()).replace(/\s+/g, ' ').trim();
  if (!shown.includes(text)) fail(`the message in #${id} is "${shown}", expected it to say "${text}"`);
  const messageId = await message.first().getAttribute('id');
  const describedBy = ((await group.getAttribute('aria-describedby')) ?? '').split(/\s+/);
  if (!messageId || !describedBy.includes(messageId)) fail(`fieldset #${id} is not described by its error message`);
  if ((await page.locator(`.error-summary a[href="#${id}"]`).count()) === 0) fail(`the error summary does not link to #${id}`);
  return shown;
}

export async function expectValue(page, selector, expected, what) {
  const value = await page.locator(selector).inputValue();
  if (value !== expected) {
    const show = (s) => (s.length > 60 ? `${s.slice(0, 60)}… (${s.length} characters)` : s);
    fail(`${what} was not kept: expected "${show(expected)}", the field holds "${show(value)}"`);
  }
}

export async function expectChecked(page, selector, what) {
  if (!(await page.locator(selector).isChecked())) fail(`${what} was not kept checked`);
}

/** Fail unless the page's main content says `text`. */
export async function expectText(person, text, what = `the page to say "${text}"`) {
  const main = (await person.page.locator('main').innerText()).replace(/\s+/g, ' ');
  if (!main.includes(text)) fail(`expected ${what} at ${person.page.url()}; it says: ${main.slice(0, 600)}`);
}

export async function signUp(person, base, username) {
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

export async function logIn(person, base, username) {
  const { page } = person;
  await visit(person, base, '/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(PASSWORD);
  await press(person, 'Log in');
  if (new URL(page.url()).pathname !== '/') fail(`logging in as ${username} led to ${page.url()}`);
}

async function failureScreenshots() {
  const saved = [];
  for (const p of people) {
    const path = join(OUT, `failure-${p.name}.png`);
    try {
      await p.page.screenshot({ path });
      saved.push({ who: p.name, path, url: p.page.url(), current: p === run.currentPerson });
    } catch {
      // The page may be gone with the browser; the message says enough.
    }
  }
  return saved;
}

/**
 * Run `journey(person)` in a fresh Chromium, where `person(name)` opens a
 * browser context for one person; then fail on any CSP report or serious
 * accessibility violation, print `done` (or `failed`) and exit.
 */
export async function main(journey) {
  try {
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
    emit({ event: 'launched', chromium: browser.version() });
    const person = async (name) => {
      const context = await browser.newContext({ viewport: DESKTOP, deviceScaleFactor: 1 });
      context.setDefaultTimeout(DEADLINE_MS);
      context.setDefaultNavigationTimeout(DEADLINE_MS);
      const p = new Person(name, context, await context.newPage());
      people.push(p);
      return p;
    };
    try {
      await journey(person);
      finish();
    } catch (error) {
      // Pictures of where each person was, taken before the browser closes.
      error.screenshots = await failureScreenshots();
      throw error;
    } finally {
      await browser.close().catch(() => {});
    }
    process.exit(0);
  } catch (error) {
    emit({
      event: 'failed',
      step: run.currentStep,
      who: run.currentPerson?.name,
      message: String(error?.message ?? error),
      screenshots: error?.screenshots ?? [],
      axe: axeFailures,
    });
    process.exit(1);
  }
}

function finish() {
  const csp = people.flatMap((p) => p.cspViolations.map((v) => ({ who: p.name, ...v })));
  if (csp.length > 0) {
    emit({ event: 'csp-violations', violations: csp });
    fail(`${csp.length} Content-Security-Policy violation(s) reported by Chromium (see csp-violations)`);
  }
  if (axeFailures.length > 0) {
    run.currentStep = 'accessibility';
    emit({ event: 'axe-violations', violations: axeFailures });
    fail(`${axeFailures.length} serious or critical accessibility violation(s) (see axe-violations)`);
  }
  emit({ event: 'done', steps: run.stepsDone, pages_checked: run.pagesChecked, screenshots: SHOTS });
}
