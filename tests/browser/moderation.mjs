// The moderation journey behind tests/browser.rs: four people on one
// Hearth server, each in their own headless Chromium context, doing
// through the web pages (no API calls) what moderation asks of them. Mo
// starts a group and moderates it; Dan posts an advert in it; Cat reports
// it. Mo deals with the report (Cat is told), closes a thread to replies
// (Cat's reply form is gone, and a reply sent anyway is refused in plain
// words), bans Dan with "remove what they wrote" (his post disappears, his
// next one is refused), makes Cat a moderator and ends it, and lifts the
// ban. Then Mo holds the posts of members who joined less than 7 days
// ago: Lea joins and writes a thread, which says it waits for a moderator
// and which Cat does not see until Mo lets it through from the page of
// posts waiting; Lea's reply waits too, is turned down with a reason, and
// her notification gives the reason. Mo pins the welcome thread, marked "Pinned" for Cat.
// The group's moderation log lists all of it with the reasons given.
// Cat follows her report on "Your reports": waiting, then dealt with and
// how; Mo finds it among the reports dealt with. Ruth, an admin, sets and
// removes a rule for another server, bans Dan from the whole server (his
// next post is refused) and lifts the ban, and reads all of it in the
// server's moderation log; Cat is refused the admins' pages. Lea deletes
// her account (nothing of it had left the server) and Ruth finds it among
// "Deleted accounts and posts", which Cat is refused. Forms sent
// with missing answers say what is wrong next to the field.
//
// Every page reached is checked with axe-core (see harness.mjs).
//
// Input (environment): HEARTH_A_URL, the server's base URL
// (http://127.0.0.1:PORT); HEARTH_ADMIN, the username of an admin already
// made (with the harness's password); the rest is in harness.mjs.

import {
  PASSWORD,
  PHONE,
  checkA11y,
  expectFieldError,
  expectGroupError,
  expectText,
  expectValue,
  fail,
  logIn,
  main,
  press,
  reloadUntil,
  required,
  screenshot,
  signUp,
  step,
  visit,
} from './harness.mjs';

const A = required('HEARTH_A_URL').replace(/\/$/, '');
const ADMIN = required('HEARTH_ADMIN');

const GROUP = { name: 'circle', title: 'Long Covid Circle' };
const WELCOME = { title: 'Welcome, say hello', body: 'Tell us a little about yourself, if you like.' };
const ADVERT = { title: 'Miracle cure, half price', body: 'Buy my pills today and feel better by Friday.' };
const REPORT_COMMENT = 'This is selling pills, not support.';
const RESOLUTION = 'Removed the advert and banned the seller.';
const BAN_REASON = 'Selling fake cures to members.';
const FIRST_POST = { title: 'New here, tired all the time', body: 'Six months in and still exhausted. How do you pace yourselves?' };
const HELD_REPLY = 'Try my supplement: message me for a discount code.';
const TURN_DOWN_REASON = 'Adverts are not allowed here, even for supplements.';
const SERVER_BAN_REASON = 'Advertising fake cures across the server.';

/** The numeric id at the end of a thread's address. */
function postId(url) {
  const id = new URL(url).pathname.match(/^\/posts\/(\d+)$/)?.[1];
  if (!id) fail(`${url} is not a thread's address`);
  return id;
}

/** Write a thread in the group; returns its address. */
async function writeThread(person, thread) {
  const { page } = person;
  await visit(person, A, `/groups/${GROUP.name}/new`);
  await page.locator('#title').fill(thread.title);
  await page.locator('#kind-emotional').check();
  await page.locator('#body').fill(thread.body);
  await press(person, 'Post to the group');
  postId(page.url());
  return page.url();
}

async function joinGroup(person) {
  await visit(person, A, `/groups/${GROUP.name}`);
  await press(person, 'Join group');
  await person.page.getByRole('button', { name: 'Leave group', exact: true }).waitFor();
}

async function journey(person) {
  const mo = await person('mo');
  const dan = await person('dan');
  const cat = await person('cat');
  const ruth = await person('ruth');
  const lea = await person('lea');
  let welcome = '';
  let advert = '';

  await step('mo signs up and starts an open group', mo, async () => {
    const { page } = mo;
    await signUp(mo, A, 'mo');
    await visit(mo, A, '/groups/new');
    await page.locator('#title').fill(GROUP.title);
    await page.locator('#name').fill(GROUP.name);
    await page.locator('#policy-open').check();
    await press(mo, 'Start the group');
    await page.getByRole('heading', { level: 2, name: 'For moderators' }).waitFor();
    welcome = await writeThread(mo, WELCOME);
  });

  await step('dan signs up, joins and posts an advert', dan, async () => {
    await signUp(dan, A, 'dan');
    await joinGroup(dan);
    advert = await writeThread(dan, ADVERT);
    // Nobody reports their own post.
    if ((await dan.page.getByRole('link', { name: 'Report this post' }).count()) !== 0) {
      fail('dan is offered to report his own post');
    }
  });

  await step('cat signs up, joins, and sees no moderator tools', cat, async () => {
    const { page } = cat;
    await signUp(cat, A, 'cat');
    await joinGroup(cat);
    if ((await page.getByRole('heading', { name: 'For moderators' }).count()) !== 0) fail('cat sees the moderators\' links');
    await visit(cat, A, new URL(welcome).pathname);
    if ((await page.getByRole('button', { name: 'Close to replies' }).count()) !== 0) fail('cat is offered to close the thread');
    if ((await page.getByText('Moderator: remove this post').count()) !== 0) fail('cat is offered to remove a post');
    await visit(cat, A, `/groups/${GROUP.name}/bans`, 403);
    await expectText(cat, 'Only the group\'s moderators can see this page');
    // Nor the admins' pages, for the whole server.
    if ((await page.locator('header').getByRole('link', { name: 'Server bans' }).count()) !== 0) fail('cat\'s header links the admins\' pages');
    for (const path of ['/admin/bans', '/admin/log']) {
      await visit(cat, A, path, 403);
      await expectText(cat, 'Only the people who run this server can see this page');
    }
  });

  await step('cat reports the advert: the form says what is missing, next to it', cat, async () => {
    const { page } = cat;
    await visit(cat, A, new URL(advert).pathname);
    await page.getByRole('link', { name: 'Report this post' }).click();
    await page.waitForURL(`${A}/posts/${postId(advert)}/report`);
    await expectText(cat, 'will not be told who reported it');
    await checkA11y(cat, 'report form');
    let response = await press(cat, 'Send report');
    if (response?.status() !== 422) fail(`a report without a reason was answered with HTTP ${response?.status()}`);
    await expectGroupError(page, 'category', 'Choose what is wrong');
    await checkA11y(cat, 'report form with an error');
    // "Something else" needs a few words.
    await page.locator('#category-other').check();
    response = await press(cat, 'Send report');
    if (response?.status() !== 422) fail(`"something else" without a comment was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'comment', 'Say in a few words');
    await screenshot(cat, 'report-error-phone', PHONE);
    await page.locator('#category-spam').check();
    await page.locator('#comment').fill(REPORT_COMMENT);
    response = await press(cat, 'Send report');
    if (response?.status() !== 200) fail(`sending the report was answered with HTTP ${response?.status()}`);
    await page.getByRole('heading', { level: 1, name: 'Thank you for telling us' }).waitFor();
    // From there, her reports: this one waits for a moderator.
    await checkA11y(cat, 'report sent');
    await page.locator('main').getByRole('link', { name: 'Your reports' }).click();
    await page.waitForURL(`${A}/me/reports`);
    const mine = page.locator('main ul.cards > li').filter({ hasText: ADVERT.title });
    if ((await mine.count()) !== 1) fail('"Your reports" does not list the report about the advert');
    const text = (await mine.innerText()).replace(/\s+/g, ' ');
    for (const expected of ['Spam or advertising', REPORT_COMMENT, 'have not dealt with it yet']) {
      if (!text.includes(expected)) fail(`the report does not say "${expected}": ${text}`);
    }
    const state = (await mine.locator('.tag').textContent()).trim();
    if (state !== 'Waiting') fail(`the report is marked "${state}", not "Waiting"`);
  });

  let reportId = '';
  await step('mo is told of the report, finds it in the reports page and deals with it', mo, async () => {
    const { page } = mo;
    const notifications = page.locator('header a[href="/notifications"]');
    await reloadUntil(mo, `${A}/`, 'an unread notification', async () => /\d/.test(await notifications.innerText()));
    await notifications.click();
    await page.waitForURL(`${A}/notifications`);
    await expectText(mo, 'A new report about');
    await page.getByRole('link', { name: 'Open the reports' }).first().click();
    await page.waitForURL(`${A}/moderation/reports`);
    const report = page.locator('main li').filter({ hasText: ADVERT.title });
    if ((await report.count()) !== 1) fail('the reports page does not list the report about the advert');
    const text = (await report.innerText()).replace(/\s+/g, ' ');
    for (const expected of ['Spam or advertising', REPORT_COMMENT, 'dan']) {
      if (!text.includes(expected)) fail(`the report does not say "${expected}": ${text}`);
    }
    if (/\bcat\b/.test(text)) fail(`the report names who made it: ${text}`);
    await checkA11y(mo, 'reports');
    await screenshot(mo, 'reports-phone', PHONE);
    const action = await report.locator('form').getAttribute('action');
    reportId = action.match(/\/moderation\/reports\/(\d+)\/resolve/)?.[1] ?? fail(`unexpected form action ${action}`);
    const response = await press(mo, 'Mark as dealt with', report);
    if (response?.status() !== 422) fail(`an empty resolution was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, `resolution-${reportId}`, 'Say what you did');
    await checkA11y(mo, 'reports with an error');
    await page.locator(`#resolution-${reportId}`).fill(RESOLUTION);
    await press(mo, 'Mark as dealt with', page.locator('main li').filter({ hasText: ADVERT.title }));
    await expectText(mo, 'The person who reported it is told what you did');
    await expectText(mo, 'No reports are waiting');
    return { report: reportId };
  });

  await step('cat\'s notification says the report was dealt with, and how', cat, async () => {
    const { page } = cat;
    await reloadUntil(cat, `${A}/notifications`, 'the answer to the report', async () =>
      (await page.locator('main li').filter({ hasText: 'Your report was dealt with' }).count()) > 0,
    );
    const item = page.locator('main li').filter({ hasText: 'Your report was dealt with' }).first();
    if (!(await item.innerText()).includes(RESOLUTION)) fail(`the notification does not say what was done: ${await item.innerText()}`);
  });

  await step('cat\'s reports, from the header, say the report was dealt with, and how', cat, async () => {
    const { page } = cat;
    await page.locator('header').getByRole('link', { name: 'Your reports' }).click();
    await page.waitForURL(`${A}/me/reports`);
    const mine = page.locator('main ul.cards > li').filter({ hasText: ADVERT.title });
    if ((await mine.count()) !== 1) fail('"Your reports" does not list the report about the advert');
    const text = (await mine.innerText()).replace(/\s+/g, ' ');
    for (const expected of ['Spam or advertising', 'The moderators dealt with it', RESOLUTION]) {
      if (!text.includes(expected)) fail(`the report does not say "${expected}": ${text}`);
    }
    const state = (await mine.locator('.tag').textContent()).trim();
    if (state !== 'Dealt with') fail(`the report is marked "${state}", not "Dealt with"`);
    await checkA11y(cat, 'your reports');
    await screenshot(cat, 'my-reports-phone', PHONE);
  });

  await step('mo finds the report among those dealt with: who, when and what was done', mo, async () => {
    const { page } = mo;
    await visit(mo, A, '/moderation/reports');
    await page.locator('main').getByRole('link', { name: 'Dealt with', exact: true }).click();
    await page.waitForURL(`${A}/moderation/reports?state=resolved`);
    await page.getByRole('heading', { level: 1, name: 'Reports dealt with' }).waitFor();
    const report = page.locator('main ul.cards > li').filter({ hasText: ADVERT.title });
    if ((await report.count()) !== 1) fail('the reports dealt with do not list the report about the advert');
    const text = (await report.innerText()).replace(/\s+/g, ' ');
    for (const expected of ['Spam or advertising', REPORT_COMMENT, 'Dealt with', 'by mo', RESOLUTION]) {
      if (!text.includes(expected)) fail(`the report dealt with does not say "${expected}": ${text}`);
    }
    if ((await report.locator('form').count()) !== 0) fail('a report dealt with still offers its form');
    await checkA11y(mo, 'reports dealt with');
  });

  await step('removing a post needs a reason: the form says so next to the field', mo, async () => {
    const { page } = mo;
    const id = postId(advert);
    await visit(mo, A, new URL(advert).pathname);
    await page.getByText('Moderator: remove this post').click();
    const response = await press(mo, 'Remove post');
    if (response?.status() !== 422) fail(`a removal without a reason was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, `reason-${id}`, 'Say why you are removing it');
    if (!(await page.locator('details.moderation').first().evaluate((d) => d.open))) fail('the removal form is folded away after its error');
    await checkA11y(mo, 'thread with a removal error');
    // Nothing was removed.
    await expectText(mo, ADVERT.body);
  });

  await step('mo closes the welcome thread to replies', mo, async () => {
    const { page } = mo;
    await visit(mo, A, new URL(welcome).pathname);
    await press(mo, 'Close to replies');
    await expectText(mo, 'closed this thread: no new replies');
    await page.getByRole('button', { name: 'Open to replies', exact: true }).waitFor();
  });

  await step('cat finds no reply form, and a reply sent anyway is refused in plain words', cat, async () => {
    const { page } = cat;
    const id = postId(welcome);
    await visit(cat, A, new URL(welcome).pathname);
    await expectText(cat, 'closed this thread: no new replies');
    if ((await page.getByRole('button', { name: 'Send reply' }).count()) !== 0) fail('the closed thread still offers a reply form');
    // What an old tab with the form still open would send.
    const csrf = (await cat.context.cookies()).find((c) => c.name === 'hearth_csrf')?.value ?? fail('no CSRF cookie');
    const response = await page.request.post(`${A}/posts/${id}/reply`, {
      form: { csrf, body: 'Hello everyone!' },
      maxRedirects: 0,
    });
    if (response.status() !== 422) fail(`a reply to a closed thread was answered with HTTP ${response.status()}`);
    const html = await response.text();
    if (!html.includes('This thread is closed to new replies.')) fail('the refusal does not say the thread is closed');
    if (!html.includes(`href="#post-${id}"`)) fail('the error summary does not point at the thread');
  });

  await step('mo bans dan: the form needs a reason; then with "remove what they wrote"', mo, async () => {
    const { page } = mo;
    await visit(mo, A, `/groups/${GROUP.name}`);
    await page.getByRole('link', { name: 'Bans', exact: true }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/bans`);
    await expectText(mo, 'Nobody is banned from this group');
    await checkA11y(mo, 'bans');
    await page.locator('#person').fill('dan');
    let response = await press(mo, 'Ban from the group');
    if (response?.status() !== 422) fail(`a ban without a reason was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'reason', 'Say why');
    await expectValue(page, '#person', 'dan', 'the person');
    await checkA11y(mo, 'bans with an error');
    await page.locator('#reason').fill(BAN_REASON);
    await page.locator('#duration-7').check();
    await page.locator('#remove_data').check();
    response = await press(mo, 'Ban from the group');
    if (response?.status() !== 200 || new URL(page.url()).pathname !== `/groups/${GROUP.name}/bans`) {
      fail(`banning led to ${page.url()} (HTTP ${response?.status()})`);
    }
    const ban = page.locator('main ul.cards li').filter({ hasText: 'dan' });
    if ((await ban.count()) !== 1) fail('the ban is not listed');
    const text = (await ban.innerText()).replace(/\s+/g, ' ');
    for (const expected of [BAN_REASON, 'Until ', 'what they wrote here was removed']) {
      if (!text.includes(expected)) fail(`the ban does not say "${expected}": ${text}`);
    }
    await screenshot(mo, 'bans-phone', PHONE);
  });

  await step('dan\'s advert is gone for the members', cat, async () => {
    const { page } = cat;
    await visit(cat, A, `/groups/${GROUP.name}`);
    if ((await page.getByRole('link', { name: ADVERT.title }).count()) !== 0) fail('the group still lists the advert');
    await visit(cat, A, new URL(advert).pathname);
    await expectText(cat, 'This post was deleted.');
    if ((await page.getByText(ADVERT.body).count()) !== 0) fail('the advert\'s words are still shown');
  });

  await step('dan is told he was banned, and his next post is refused in plain words', dan, async () => {
    const { page } = dan;
    await visit(dan, A, '/notifications');
    const told = page.locator('main li').filter({ hasText: 'banned you' });
    if ((await told.count()) === 0) fail('dan is not told he was banned');
    if (!(await told.first().innerText()).includes(BAN_REASON)) fail('the notification does not give the reason');
    await visit(dan, A, `/groups/${GROUP.name}/new`);
    await page.locator('#title').fill('Still selling');
    await page.locator('#kind-emotional').check();
    await page.locator('#body').fill('Half price again.');
    const response = await press(dan, 'Post to the group');
    if (response?.status() !== 422) fail(`a banned member's post was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'title', 'its moderators banned you');
    await expectValue(page, '#body', 'Half price again.', 'the body');
  });

  await step('mo makes cat a moderator, then ends it; an unknown name is refused next to the field', mo, async () => {
    const { page } = mo;
    await visit(mo, A, `/groups/${GROUP.name}/moderators`);
    await checkA11y(mo, 'moderators');
    await page.locator('#username').fill('nobody_here');
    let response = await press(mo, 'Make them a moderator');
    if (response?.status() !== 422) fail(`an unknown moderator was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'username', 'There is nobody called');
    await page.locator('#username').fill('cat');
    response = await press(mo, 'Make them a moderator');
    if (response?.status() !== 200) fail(`adding cat was answered with HTTP ${response?.status()}`);
    await page.getByRole('button', { name: 'Remove cat as moderator', exact: true }).waitFor();
    await press(mo, 'Remove cat as moderator');
    if ((await page.getByRole('button', { name: 'Remove cat as moderator' }).count()) !== 0) fail('cat is still a moderator');
  });

  await step('mo lifts the ban', mo, async () => {
    const { page } = mo;
    await visit(mo, A, `/groups/${GROUP.name}/bans`);
    const lift = page.getByRole('button', { name: /^Lift ban on dan@/ });
    if ((await lift.count()) !== 1) fail('no "Lift ban" button for dan');
    const navigated = page.waitForNavigation({ waitUntil: 'load' });
    await lift.click();
    await navigated;
    await expectText(mo, 'Nobody is banned from this group');
  });

  await step('mo holds the posts of new members: a number is needed, next to the field', mo, async () => {
    const { page } = mo;
    await visit(mo, A, `/groups/${GROUP.name}`);
    await page.getByRole('link', { name: 'Posts waiting for a moderator' }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/held`);
    await expectText(mo, 'No posts are waiting');
    await expectText(mo, 'A post that waits is seen by nobody but its author and the group\'s moderators');
    await checkA11y(mo, 'posts waiting, none yet');
    await page.locator('#new_member_days').fill('a week');
    let response = await press(mo, 'Save which posts wait');
    if (response?.status() !== 422) fail(`"a week" was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'new_member_days', 'Enter a number of days');
    await expectValue(page, '#new_member_days', 'a week', 'the number of days');
    await checkA11y(mo, 'posts waiting with an error');
    await page.locator('#new_member_days').fill('7');
    response = await press(mo, 'Save which posts wait');
    if (response?.status() !== 200 || new URL(page.url()).pathname !== `/groups/${GROUP.name}/held`) {
      fail(`saving led to ${page.url()} (HTTP ${response?.status()})`);
    }
    await expectText(mo, 'Saved.');
    await expectValue(page, '#new_member_days', '7', 'the saved number of days');
  });

  let firstPost = '';
  await step('lea joins and writes a thread: the page says it waits for a moderator', lea, async () => {
    const { page } = lea;
    await signUp(lea, A, 'lea');
    await joinGroup(lea);
    firstPost = await writeThread(lea, FIRST_POST);
    await expectText(lea, 'Waiting for a moderator.');
    await expectText(lea, 'Nobody else can see your post until one of the group\'s moderators lets it through');
    await expectText(lea, FIRST_POST.body);
    if ((await page.getByRole('button', { name: 'Send reply' }).count()) !== 0) fail('a waiting post offers a reply form');
    await checkA11y(lea, 'a waiting post, to its author');
  });

  await step('cat does not see lea\'s waiting post', cat, async () => {
    const { page } = cat;
    await visit(cat, A, `/groups/${GROUP.name}`);
    if ((await page.getByRole('link', { name: FIRST_POST.title }).count()) !== 0) fail('the group lists a post still waiting');
    await visit(cat, A, new URL(firstPost).pathname, 404);
  });

  await step('mo is told, opens the posts waiting and lets lea\'s through', mo, async () => {
    const { page } = mo;
    const told = page.locator('main li').filter({ hasText: 'is waiting for a moderator to let it through' });
    await reloadUntil(mo, `${A}/notifications`, 'the notification of a waiting post', async () => (await told.count()) > 0);
    await told.first().getByRole('link', { name: 'Open the posts waiting' }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/held`);
    const item = page.locator('main ul.cards li').filter({ hasText: FIRST_POST.title });
    if ((await item.count()) !== 1) fail('the page of posts waiting does not list lea\'s post');
    const text = (await item.innerText()).replace(/\s+/g, ' ');
    for (const expected of [FIRST_POST.body, 'lea']) {
      if (!text.includes(expected)) fail(`the waiting post does not show "${expected}": ${text}`);
    }
    await checkA11y(mo, 'posts waiting');
    await screenshot(mo, 'held-phone', PHONE);
    await press(mo, 'Let it through', item);
    await expectText(mo, 'The post is now in the group');
    await expectText(mo, 'No posts are waiting');
  });

  await step('cat now sees lea\'s post', cat, async () => {
    const { page } = cat;
    await visit(cat, A, `/groups/${GROUP.name}`);
    await page.getByRole('link', { name: FIRST_POST.title }).click();
    await page.waitForURL(firstPost);
    await expectText(cat, FIRST_POST.body);
    if ((await page.getByText('Waiting for a moderator').count()) !== 0) fail('the post still says it waits');
  });

  let heldReply = '';
  await step('lea replies in her thread: the reply says it waits too', lea, async () => {
    const { page } = lea;
    await visit(lea, A, new URL(firstPost).pathname);
    await page.locator(`#reply-${postId(firstPost)}`).fill(HELD_REPLY);
    await press(lea, 'Send reply');
    // Back on the thread, at her reply, which only she sees there.
    heldReply = new URL(page.url()).hash.replace('#post-', '');
    if (!heldReply || new URL(page.url()).pathname !== new URL(firstPost).pathname) {
      fail(`the reply did not lead back to its thread: ${page.url()}`);
    }
    const reply = page.locator(`article[aria-labelledby="post-${heldReply}"]`);
    const text = (await reply.innerText()).replace(/\s+/g, ' ');
    for (const expected of [HELD_REPLY, 'Waiting for a moderator.', 'Nobody else can see your reply']) {
      if (!text.includes(expected)) fail(`the waiting reply does not say "${expected}": ${text}`);
    }
  });

  await step('cat does not see lea\'s waiting reply', cat, async () => {
    await visit(cat, A, new URL(firstPost).pathname);
    await expectText(cat, FIRST_POST.body);
    if ((await cat.page.getByText(HELD_REPLY).count()) !== 0) fail('the thread shows a reply still waiting');
  });

  await step('mo turns the reply down: a reason is needed, next to the field', mo, async () => {
    const { page } = mo;
    const id = heldReply;
    await visit(mo, A, `/groups/${GROUP.name}/held`);
    const item = () => page.locator('main ul.cards li').filter({ hasText: HELD_REPLY });
    if ((await item().count()) !== 1) fail('the page of posts waiting does not list lea\'s reply');
    const heading = await item().locator('h2').innerText();
    if (!heading.includes(`A reply in \u201c${FIRST_POST.title}\u201d`)) fail(`the waiting reply is headed "${heading}"`);
    let response = await press(mo, 'Turn it down', item());
    if (response?.status() !== 422) fail(`turning down without a reason was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, `reason-${id}`, 'Say why you are turning it down');
    await checkA11y(mo, 'posts waiting with a reason missing');
    await page.locator(`#reason-${id}`).fill(TURN_DOWN_REASON);
    response = await press(mo, 'Turn it down', item());
    if (response?.status() !== 200) fail(`turning it down was answered with HTTP ${response?.status()}`);
    await expectText(mo, 'The post was turned down');
    await expectText(mo, 'No posts are waiting');
  });

  await step('lea\'s notification says her post was turned down, and why', lea, async () => {
    const { page } = lea;
    const told = page.locator('main li').filter({ hasText: 'turned down a post you wrote' });
    await reloadUntil(lea, `${A}/notifications`, 'the notification of the post turned down', async () => (await told.count()) > 0);
    if (!(await told.first().innerText()).includes(TURN_DOWN_REASON)) fail(`the notification does not give the reason: ${await told.first().innerText()}`);
  });

  await step('mo pins the welcome thread to the top', mo, async () => {
    const { page } = mo;
    await visit(mo, A, new URL(welcome).pathname);
    await press(mo, 'Pin to the top');
    await page.getByRole('button', { name: 'Unpin', exact: true }).waitFor();
    const label = page.locator('main .tag');
    if ((await label.count()) !== 1 || (await label.textContent()) !== 'Pinned') fail('the pinned thread has no "Pinned" label');
  });

  await step('cat finds the welcome thread pinned at the top of the group', cat, async () => {
    const { page } = cat;
    await visit(cat, A, `/groups/${GROUP.name}`);
    const first = page.locator('main ul.cards > li').first();
    const text = (await first.textContent()).replace(/\s+/g, ' ');
    if (!text.includes(WELCOME.title) || !text.includes('Pinned')) fail(`the first post listed is not the pinned welcome thread: ${text}`);
    if ((await page.locator('main ul.cards .tag').count()) !== 1) fail('more than one thread is marked "Pinned"');
    await checkA11y(cat, 'group page with a pinned thread');
    await visit(cat, A, new URL(welcome).pathname);
    if ((await page.locator('main .tag').textContent()) !== 'Pinned') fail('the thread page does not say it is pinned');
    if ((await page.getByRole('button', { name: 'Unpin' }).count()) !== 0) fail('cat is offered to unpin the thread');
  });

  await step('the group\'s moderation log lists what was done, with the reasons', cat, async () => {
    const { page } = cat;
    await visit(cat, A, `/groups/${GROUP.name}`);
    await page.getByRole('link', { name: 'Moderation log' }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/log`);
    await checkA11y(cat, 'moderation log');
    await screenshot(cat, 'moderation-log-phone', PHONE);
    const lines = (await page.locator('main ul.cards').innerText()).replace(/\s+/g, ' ');
    for (const expected of [
      'dealt with a report',
      RESOLUTION,
      'closed a thread to replies',
      'banned someone',
      BAN_REASON,
      'lifted a ban',
      'made someone a moderator',
      'ended someone\'s moderator role',
      'changed which posts wait for a moderator',
      'let a waiting post through',
      'turned down a waiting post',
      TURN_DOWN_REASON,
      'pinned a thread',
    ]) {
      if (!lines.includes(expected)) fail(`the log does not say "${expected}": ${lines}`);
    }
    // The log links to the thread, never shows a post's words.
    for (const words of [ADVERT.body, WELCOME.body, FIRST_POST.body, HELD_REPLY]) {
      if (lines.includes(words)) fail('the log shows a post\'s words');
    }
  });

  await step('ruth, an admin, sets and removes a rule for another server', ruth, async () => {
    const { page } = ruth;
    await logIn(ruth, A, ADMIN);
    await page.locator('header').getByRole('link', { name: 'Connected servers' }).click();
    await page.waitForURL(`${A}/admin/federation`);
    await checkA11y(ruth, 'connected servers');
    let response = await press(ruth, 'Save rule');
    if (response?.status() !== 422) fail(`a rule without a server was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'domain', '');
    await checkA11y(ruth, 'connected servers with an error');
    await page.locator('#domain').fill('spam.example');
    await page.locator('#action-suspend').check();
    await page.locator('#public_reason').fill('Sends spam to our groups');
    response = await press(ruth, 'Save rule');
    if (response?.status() !== 200) fail(`saving the rule was answered with HTTP ${response?.status()}`);
    await expectText(ruth, 'The rule for spam.example is saved.');
    await expectText(ruth, 'Sends spam to our groups');
    await press(ruth, 'Remove the rule for spam.example');
    await expectText(ruth, 'There are no rules yet.');
    // Admins handle every report.
    await page.locator('header').getByRole('link', { name: 'Reports', exact: true }).click();
    await page.waitForURL(`${A}/moderation/reports`);
  });

  await step('ruth bans dan from the whole server: the form needs a reason; then it is listed', ruth, async () => {
    const { page } = ruth;
    await page.locator('header').getByRole('link', { name: 'Server bans' }).click();
    await page.waitForURL(`${A}/admin/bans`);
    await expectText(ruth, 'Nobody is banned from this server');
    await checkA11y(ruth, 'server bans');
    await page.locator('#person').fill('dan');
    let response = await press(ruth, 'Ban from this server');
    if (response?.status() !== 422) fail(`a server ban without a reason was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'reason', 'Say why');
    await expectValue(page, '#person', 'dan', 'the person');
    await checkA11y(ruth, 'server bans with an error');
    await page.locator('#reason').fill(SERVER_BAN_REASON);
    await page.locator('#duration-30').check();
    response = await press(ruth, 'Ban from this server');
    if (response?.status() !== 200 || new URL(page.url()).pathname !== '/admin/bans') {
      fail(`banning from the server led to ${page.url()} (HTTP ${response?.status()})`);
    }
    await expectText(ruth, 'The ban is in place.');
    const ban = page.locator('main ul.cards li').filter({ hasText: 'dan' });
    if ((await ban.count()) !== 1) fail('the server ban is not listed');
    const text = (await ban.innerText()).replace(/\s+/g, ' ');
    for (const expected of [SERVER_BAN_REASON, 'Until ', 'by ruth']) {
      if (!text.includes(expected)) fail(`the server ban does not say "${expected}": ${text}`);
    }
    await screenshot(ruth, 'server-bans-phone', PHONE);
  });

  await step('dan, banned from the server, is refused a post in plain words', dan, async () => {
    const { page } = dan;
    await visit(dan, A, `/groups/${GROUP.name}/new`);
    await page.locator('#title').fill('Back again');
    await page.locator('#kind-emotional').check();
    await page.locator('#body').fill('New stock in.');
    const response = await press(dan, 'Post to the group');
    if (response?.status() !== 422) fail(`a post by someone banned from the server was answered with HTTP ${response?.status()}`);
    await expectFieldError(page, 'title', 'an admin banned your account');
  });

  await step('ruth lifts the server ban', ruth, async () => {
    const { page } = ruth;
    await visit(ruth, A, '/admin/bans');
    const lift = page.getByRole('button', { name: /^Lift ban on dan@/ });
    if ((await lift.count()) !== 1) fail('no "Lift ban" button for dan');
    const navigated = page.waitForNavigation({ waitUntil: 'load' });
    await lift.click();
    await navigated;
    await expectText(ruth, 'The ban is lifted.');
    await expectText(ruth, 'Nobody is banned from this server');
  });

  await step('the server\'s moderation log lists every group\'s actions and the admins\'', ruth, async () => {
    const { page } = ruth;
    await page.locator('header').getByRole('link', { name: 'Server moderation log' }).click();
    await page.waitForURL(`${A}/admin/log`);
    await checkA11y(ruth, 'server moderation log');
    await screenshot(ruth, 'server-log-phone', PHONE);
    const lines = page.locator('main ul.cards > li');
    const all = (await page.locator('main ul.cards').innerText()).replace(/\s+/g, ' ');
    for (const expected of [
      'banned someone',
      SERVER_BAN_REASON,
      'lifted a ban',
      'set a rule for a server: spam.example',
      'removed a rule for a server: spam.example',
      'dealt with a report',
      RESOLUTION,
      BAN_REASON,
    ]) {
      if (!all.includes(expected)) fail(`the server's log does not say "${expected}": ${all}`);
    }
    // Each line says where: the whole server, or the group.
    const serverBan = lines.filter({ hasText: SERVER_BAN_REASON });
    if (!(await serverBan.innerText()).includes('For the whole server')) fail(`the server ban does not say it was for the whole server: ${await serverBan.innerText()}`);
    const groupBan = lines.filter({ hasText: BAN_REASON });
    if ((await groupBan.getByRole('link', { name: GROUP.title }).count()) !== 1) fail(`the group's ban does not name its group: ${await groupBan.innerText()}`);
    for (const words of [ADVERT.body, WELCOME.body, FIRST_POST.body, HELD_REPLY]) {
      if (all.includes(words)) fail('the server\'s log shows a post\'s words');
    }
  });

  await step('lea deletes her account: nothing of it had gone to another server', lea, async () => {
    const { page } = lea;
    await visit(lea, A, '/settings');
    await page.locator('main').getByRole('link', { name: 'Delete your account' }).click();
    await page.waitForURL(`${A}/me/delete`);
    await page.locator('#password').fill(PASSWORD);
    const response = await press(lea, 'Delete my account');
    if (response?.status() !== 200 || !/^\/erasures\/[^/]+$/.test(new URL(page.url()).pathname)) {
      fail(`deleting the account led to ${page.url()} (HTTP ${response?.status()})`);
    }
    await page.getByRole('heading', { level: 1, name: 'Your deleted account' }).waitFor();
    await expectText(lea, 'Nothing of it had gone to any other server');
    if ((await page.locator('table.receipt').count()) !== 0) fail('the receipt lists servers, yet nothing left this one');
    await page.locator('header').getByRole('link', { name: 'Log in', exact: true }).waitFor();
    await checkA11y(lea, 'a deleted account\'s receipt, nothing sent');
  });

  await step('cat does not see lea\'s thread any more, and is refused the list of deletions', cat, async () => {
    const { page } = cat;
    await visit(cat, A, `/groups/${GROUP.name}`);
    if ((await page.getByRole('link', { name: FIRST_POST.title }).count()) !== 0) fail('the group still lists the thread of a deleted account');
    const response = await page.goto(firstPost);
    if (![200, 404, 410].includes(response?.status())) fail(`the thread of a deleted account answered HTTP ${response?.status()}`);
    if ((await page.content()).includes(FIRST_POST.body)) fail('the thread of a deleted account still shows its words');
    if ((await page.locator('header').getByRole('link', { name: 'Deleted accounts and posts' }).count()) !== 0) {
      fail('cat\'s header links the list of deletions');
    }
    await visit(cat, A, '/admin/erasures', 403);
    await expectText(cat, 'Only the people who run this server can see this page');
    if ((await page.locator('main section.card').count()) !== 0) fail('the refusal lists deletions');
  });

  await step('ruth finds lea\'s account in "Deleted accounts and posts", with nothing sent elsewhere', ruth, async () => {
    const { page } = ruth;
    await visit(ruth, A, '/');
    await page.locator('header').getByRole('link', { name: 'Deleted accounts and posts' }).click();
    await page.waitForURL(`${A}/admin/erasures`);
    await page.getByRole('heading', { level: 1, name: 'Deleted accounts and posts' }).waitFor();
    const cards = page.locator('main section.card');
    if ((await cards.count()) !== 1) fail(`expected one deletion listed, found ${await cards.count()}`);
    const text = (await cards.first().innerText()).replace(/\s+/g, ' ');
    for (const expected of ['An account', '/u/lea', 'Asked for by the member themselves', 'Nothing of it had gone to any other server']) {
      if (!text.includes(expected)) fail(`the deletion does not say "${expected}": ${text}`);
    }
    for (const words of [FIRST_POST.title, FIRST_POST.body]) {
      if (text.includes(words)) fail('the list of deletions shows a post\'s words');
    }
    await checkA11y(ruth, 'deleted accounts and posts');
    await screenshot(ruth, 'erasures-phone', PHONE);
  });
}

await main(journey);
