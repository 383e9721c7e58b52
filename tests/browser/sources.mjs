// The sources and labels journey behind tests/browser.rs: three people on
// one Hearth server, each in their own headless Chromium context, through
// the web pages only. Mo starts a group and moderates it. Sam writes a
// "general knowledge" thread with two sources: the form says, next to the
// field, what is wrong with a source's address, then takes both; the
// thread lists them as "Sources (2 independent)". Rea, a reader, sees the
// count in the group's list and filters the group to posts with sources.
// Mo labels the thread "disputed" (a label without a choice says what is
// missing, next to it); the label shows on the thread, for Rea too, in
// calm words with the note and the link; Mo takes it off again.
//
// Every page reached is checked with axe-core (see harness.mjs).
//
// Input (environment): HEARTH_A_URL, the server's base URL; the rest is
// in harness.mjs.

import {
  PHONE,
  checkA11y,
  expectFieldError,
  expectGroupError,
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
const WELCOME = { title: 'Welcome, say hello', body: 'Tell us a little about yourself, if you like.' };
const THREAD = { title: 'Pacing helps with fatigue', body: 'What the research says about pacing.' };
const SOURCES = [
  { title: 'NHS: Long COVID', url: 'https://www.nhs.uk/conditions/covid-19/long-term-effects-of-covid-19-long-covid/', type: 'guideline' },
  { title: 'A pacing trial', url: 'https://pubmed.ncbi.nlm.nih.gov/12345678/', type: 'peer-reviewed' },
];
const NOTE = 'Some of this goes further than the trial found.';
const BETTER = 'https://www.nice.org.uk/guidance/ng188';

async function joinGroup(person) {
  await visit(person, A, `/groups/${GROUP.name}`);
  await press(person, 'Join group');
  await person.page.getByRole('button', { name: 'Leave group', exact: true }).waitFor();
}

async function journey(person) {
  const mo = await person('mo');
  const sam = await person('sam');
  const rea = await person('rea');
  let thread = '';

  await step('mo signs up, starts an open group and writes a welcome', mo, async () => {
    const { page } = mo;
    await signUp(mo, A, 'mo');
    await visit(mo, A, '/groups/new');
    await page.locator('#title').fill(GROUP.title);
    await page.locator('#name').fill(GROUP.name);
    await page.locator('#policy-open').check();
    await press(mo, 'Start the group');
    await page.getByRole('heading', { level: 2, name: 'For moderators' }).waitFor();
    await visit(mo, A, `/groups/${GROUP.name}/new`);
    await page.locator('#title').fill(WELCOME.title);
    await page.locator('#kind-emotional').check();
    await page.locator('#body').fill(WELCOME.body);
    await press(mo, 'Post to the group');
  });

  await step('sam writes a general-knowledge thread with two sources', sam, async () => {
    const { page } = sam;
    await signUp(sam, A, 'sam');
    await joinGroup(sam);
    await visit(sam, A, `/groups/${GROUP.name}/new`);
    await page.getByRole('group', { name: 'Sources (optional)' }).waitFor();
    await page.locator('#title').fill(THREAD.title);
    await page.locator('#kind-general-knowledge').check();
    await page.locator('#body').fill(THREAD.body);
    await page.locator('#source-0-title').fill(SOURCES[0].title);
    await page.locator('#source-0-url').fill('nhs dot uk');
    await page.locator('#source-0-type').selectOption(SOURCES[0].type);
    let response = await press(sam, 'Post to the group');
    if (response?.status() !== 422) fail(`a source without a web address was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'source-0-url', 'Enter a web address');
    await checkA11y(sam, 'new post with a source error');
    await screenshot(sam, 'sources-error-phone', PHONE);
    await page.locator('#source-0-url').fill(SOURCES[0].url);
    await page.locator('#source-1-title').fill(SOURCES[1].title);
    await page.locator('#source-1-url').fill(SOURCES[1].url);
    await page.locator('#source-1-type').selectOption(SOURCES[1].type);
    response = await press(sam, 'Post to the group');
    if (response?.status() !== 200) fail(`posting was answered with HTTP ${response?.status()}`);
    if (!/\/posts\/\d+$/.test(page.url())) fail(`posting led to ${page.url()}`);
    thread = new URL(page.url()).pathname;
    await page.getByRole('heading', { name: 'Sources (2 independent)' }).waitFor();
    for (const s of SOURCES) {
      if ((await page.getByRole('link', { name: s.title, exact: true }).count()) !== 1) fail(`the thread does not link "${s.title}"`);
    }
  });

  await step('rea sees the count and filters the group to posts with sources', rea, async () => {
    const { page } = rea;
    await signUp(rea, A, 'rea');
    await joinGroup(rea);
    await expectText(rea, '2 independent sources');
    await page.getByRole('link', { name: 'Show only posts with sources' }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}?with_sources=true`);
    await expectText(rea, 'Showing only posts that list sources');
    await expectText(rea, THREAD.title);
    if ((await page.locator('main').getByText(WELCOME.title).count()) !== 0) fail('the filter still lists a post without sources');
    await checkA11y(rea, 'group filtered to posts with sources');
  });

  await step('mo labels the thread disputed, with a note and a better link', mo, async () => {
    const { page } = mo;
    await visit(mo, A, thread);
    await page.getByRole('link', { name: 'Label this post' }).click();
    await page.waitForURL(`${A}${thread}/label`);
    await page.locator('#note').fill(NOTE);
    let response = await press(mo, 'Save the label');
    if (response?.status() !== 422) fail(`a label without a kind was answered with HTTP ${response?.status()}`);
    await expectGroupError(page, 'kind', 'Choose a label');
    await checkA11y(mo, 'label form with an error');
    await page.locator('#kind-disputed').check();
    await page.locator('#link').fill(BETTER);
    response = await press(mo, 'Save the label');
    if (response?.status() !== 200) fail(`saving the label was answered with HTTP ${response?.status()}`);
    await expectText(mo, 'may not be accurate');
    await expectText(mo, NOTE);
  });

  await step('rea sees the label on the thread', rea, async () => {
    const { page } = rea;
    await visit(rea, A, thread);
    await expectText(rea, 'The group\'s moderators think this post may not be accurate.');
    await expectText(rea, NOTE);
    if ((await page.getByRole('link', { name: BETTER }).count()) !== 1) fail('the label does not link the better information');
    if ((await page.getByRole('link', { name: 'Label this post' }).count()) !== 0) fail('rea is offered to label the post');
    await visit(rea, A, `${thread}/label`, 404);
    await screenshot(rea, 'label-phone', PHONE);
  });

  await step('mo takes the label off', mo, async () => {
    const { page } = mo;
    await visit(mo, A, thread);
    await press(mo, 'Take the label off');
    if ((await page.getByText('may not be accurate').count()) !== 0) fail('the label is still shown');
  });
}

await main(journey);
