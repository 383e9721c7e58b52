// The care journey behind tests/browser.rs: two people on one Hearth
// server, each in their own headless Chromium context, through the web
// pages only. Mo starts a group and writes its rules and "how to give
// support here" guide in its settings (a guide too long is refused next
// to the field); Cat sees them before joining and beside the box where
// she writes her first post. Mo names Cat a peer mentor; Cat finds the
// new members view; Cat replies, and Mo marks the reply helpful: the
// thread says so, and Cat's posts carry "Peer mentor".
//
// Every page reached is checked with axe-core (see harness.mjs).
//
// Input (environment): HEARTH_A_URL, the server's base URL; the rest is
// in harness.mjs.

import {
  checkA11y,
  expectFieldError,
  expectText,
  fail,
  main,
  press,
  required,
  signUp,
  step,
  visit,
} from './harness.mjs';

const A = required('HEARTH_A_URL').replace(/\/$/, '');

const GROUP = { name: 'circle', title: 'Long Covid Circle' };
const RULES = 'Be kind. No selling.';
const GUIDE = 'Ask before giving advice, and share what worked for you.';
const FIRST_POST = { title: 'New here and so tired', body: 'How do you pace yourselves?' };
const REPLY = 'I rest before I feel tired. It took me months to learn.';

async function journey(person) {
  const mo = await person('mo');
  const cat = await person('cat');
  let thread = '';

  await step('mo starts a group and writes its rules and guide', mo, async () => {
    const { page } = mo;
    await signUp(mo, A, 'mo');
    await visit(mo, A, '/groups/new');
    await page.locator('#title').fill(GROUP.title);
    await page.locator('#name').fill(GROUP.name);
    await page.locator('#policy-open').check();
    await press(mo, 'Start the group');
    await visit(mo, A, `/groups/${GROUP.name}/settings`);
    await page.locator('#rules').fill(RULES);
    await page.locator('#support_guide').fill('a'.repeat(4001));
    const response = await press(mo, 'Save settings');
    if (response?.status() !== 422) fail(`a guide too long was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'support_guide', 'at most 4000 characters');
    await checkA11y(mo, 'settings with an error');
    await page.locator('#support_guide').fill(GUIDE);
    await press(mo, 'Save settings');
    await expectText(mo, 'Saved.');
  });

  await step('cat sees the guide before joining and beside the compose box', cat, async () => {
    const { page } = cat;
    await signUp(cat, A, 'cat');
    await visit(cat, A, `/groups/${GROUP.name}`);
    await expectText(cat, 'Before you join');
    await expectText(cat, GUIDE);
    await press(cat, 'Join group');
    await page.getByRole('button', { name: 'Leave group', exact: true }).waitFor();
    await visit(cat, A, `/groups/${GROUP.name}/new`);
    await expectText(cat, 'Before you post');
    await expectText(cat, RULES);
    await page.locator('#title').fill(FIRST_POST.title);
    await page.locator('#kind-emotional').check();
    await page.locator('#body').fill(FIRST_POST.body);
    await press(cat, 'Post to the group');
    thread = page.url();
  });

  await step('mo names cat a peer mentor', mo, async () => {
    const { page } = mo;
    await visit(mo, A, `/groups/${GROUP.name}`);
    await page.getByRole('link', { name: 'Peer mentors', exact: true }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/mentors`);
    await page.locator('#person').fill('cat');
    await press(mo, 'Make them a peer mentor');
    await expectText(mo, 'cat@');
  });

  await step('cat finds the new members view and replies', cat, async () => {
    const { page } = cat;
    await visit(cat, A, `/groups/${GROUP.name}`);
    await page.getByRole('link', { name: 'New members', exact: true }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/newcomers`);
    await expectText(cat, FIRST_POST.title);
    // Tags are shown in capitals; their words are what counts.
    if ((await page.locator('main .tag', { hasText: 'No reply yet' }).count()) !== 1) fail('the new post is not marked "No reply yet"');
    await visit(cat, A, new URL(thread).pathname);
    await page.locator('textarea[name="body"]').first().fill(REPLY);
    await press(cat, 'Send reply');
    await expectText(cat, REPLY);
  });

  await step('mo marks the reply helpful, and the thread says so', mo, async () => {
    const { page } = mo;
    await visit(mo, A, new URL(thread).pathname);
    if ((await page.locator('main .tag', { hasText: 'Peer mentor' }).count()) < 1) fail('cat\'s posts do not say "Peer mentor"');
    await press(mo, 'Mark as helpful');
    await expectText(mo, 'Marked helpful by the moderators');
  });
}

await main(journey);
