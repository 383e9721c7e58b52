// The crisis journey behind tests/browser.rs: on one Hearth server, Mo
// starts a group and moderates it; Sam joins and writes a thread whose
// words may mean a crisis. Sam is shown where to find help at once, above
// the thread, and nobody else is. Mo is alerted, finds the post first in
// the reports as "Possible crisis", and sends Sam the helplines
// privately; Sam's notification leads to the help page. A thread with a
// look-alike phrase ("dying to try") shows nothing. Every group page links
// "Need help now?".
//
// Every page reached is checked with axe-core (see harness.mjs).
//
// Input (environment): HEARTH_A_URL, the server's base URL; the rest is in
// harness.mjs.

import {
  PHONE,
  checkA11y,
  expectText,
  fail,
  main,
  press,
  required,
  screenshot,
  signUp,
  step,
  visit,
} from './harness.mjs';

const A = required('HEARTH_A_URL').replace(/\/$/, '');

const GROUP = { name: 'circle', title: 'Long Covid Circle' };
const HARD = { title: 'I cannot do this any more', body: 'Honestly I want to end my life. Nothing helps.' };
const LOOK_ALIKE = { title: 'Dying to try the new sensor', body: 'This pain is killing my sleep, so anything helps.' };

async function writeThread(person, thread) {
  const { page } = person;
  await visit(person, A, `/groups/${GROUP.name}/new`);
  await page.locator('#title').fill(thread.title);
  await page.locator('#kind-emotional').check();
  await page.locator('#body').fill(thread.body);
  await press(person, 'Post to the group');
  if (!/\/posts\/\d+$/.test(new URL(page.url()).pathname)) fail(`${page.url()} is not a thread`);
  return page.url();
}

async function journey(person) {
  const mo = await person('mo');
  const sam = await person('sam');
  let hard = '';

  await step('mo signs up and starts an open group with a "Need help now?" link', mo, async () => {
    const { page } = mo;
    await signUp(mo, A, 'mo');
    await visit(mo, A, '/groups/new');
    await page.locator('#title').fill(GROUP.title);
    await page.locator('#name').fill(GROUP.name);
    await page.locator('#policy-open').check();
    await press(mo, 'Start the group');
    await page.getByRole('heading', { level: 2, name: 'For moderators' }).waitFor();
    await page.getByRole('link', { name: 'Where to find support' }).first().waitFor();
  });

  await step('a look-alike phrase shows nothing', mo, async () => {
    const url = await writeThread(mo, LOOK_ALIKE);
    await visit(mo, A, new URL(url).pathname);
    if ((await mo.page.getByRole('heading', { name: 'You are not alone' }).count()) !== 0) {
      fail('"dying to try" was taken for a crisis');
    }
  });

  await step('sam joins and writes about wanting to end her life: help is shown at once', sam, async () => {
    const { page } = sam;
    await signUp(sam, A, 'sam');
    await visit(sam, A, `/groups/${GROUP.name}`);
    await press(sam, 'Join group');
    await page.getByRole('button', { name: 'Leave group', exact: true }).waitFor();
    hard = await writeThread(sam, HARD);
    await page.getByRole('heading', { level: 2, name: 'You are not alone' }).waitFor();
    const box = (await page.locator('section.crisis-support').innerText()).replace(/\s+/g, ' ');
    for (const expected of ['Samaritans', '116 123', 'Only you can see this message']) {
      if (!box.includes(expected)) fail(`the help shown does not say "${expected}": ${box}`);
    }
    // The post is there for the group all the same.
    await expectText(sam, HARD.body);
    await checkA11y(sam, 'a thread with help for its author');
    await screenshot(sam, 'crisis-help-phone', PHONE);
  });

  await step('nobody else is shown the help; mo is alerted', mo, async () => {
    const { page } = mo;
    await visit(mo, A, new URL(hard).pathname);
    await expectText(mo, HARD.body);
    if ((await page.getByRole('heading', { name: 'You are not alone' }).count()) !== 0) {
      fail('mo is shown the help meant for sam');
    }
    await visit(mo, A, '/notifications');
    await expectText(mo, 'Possible crisis');
    await checkA11y(mo, 'notifications with a possible crisis');
  });

  await step('mo finds it first in the reports and sends sam the helplines privately', mo, async () => {
    const { page } = mo;
    await visit(mo, A, '/moderation/reports');
    const first = page.locator('main ul.cards > li').first();
    const heading = (await first.locator('h2').innerText()).trim();
    if (heading !== 'Possible crisis') fail(`the first report is "${heading}", not the possible crisis`);
    const text = (await first.innerText()).replace(/\s+/g, ' ');
    if (!text.includes('end my life')) fail(`the report does not say which words: ${text}`);
    await checkA11y(mo, 'reports with a possible crisis');
    await screenshot(mo, 'crisis-reports-phone', PHONE);
    await press(mo, 'Send them where to find help, privately', first);
    await page.waitForURL(/resolved=support-sent/);
    await expectText(mo, 'Only they can see it');
    await checkA11y(mo, 'reports after sending help');
  });

  await step('sam reads the message and the help page', sam, async () => {
    const { page } = sam;
    await visit(sam, A, '/notifications');
    await expectText(sam, 'wants to make sure you have support');
    await checkA11y(sam, 'notifications with a moderator\'s message');
    await page.getByRole('link', { name: 'places you can talk to someone now' }).click();
    await page.waitForURL(/\/help\?language=en$/);
    await page.getByRole('heading', { level: 1, name: 'Where to find support' }).waitFor();
    await expectText(sam, 'Samaritans');
    await checkA11y(sam, 'the help page');
  });
}

await main(journey);
