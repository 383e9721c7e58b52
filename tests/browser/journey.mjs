// The browser journey behind tests/browser.rs: two people on two Hearth
// servers, each in their own headless Chromium context, doing what people
// do through the web pages (no API calls): sign up, start a group, write a
// post with a content warning, join that group from the other server,
// reply, and see the reply arrive. Then a third person takes back a post
// and their whole account, and reads on each receipt that the other
// server deleted its copies. Forms sent with bad input must say what is
// wrong next to the field and keep what was typed.
//
// Every page reached is checked with axe-core; a serious or critical
// violation fails the run. Pages must also not break their own
// Content-Security-Policy.
//
// Input (environment): HEARTH_A_URL and HEARTH_B_URL, the base URLs of
// the two servers (http://127.0.0.1:PORT), and HEARTH_A_DOMAIN and
// HEARTH_B_DOMAIN, the servers' domains as in handles and receipts
// (localhost:PORT); the rest (output folders,
// deadline, Chromium) and what the script prints are in harness.mjs.

import {
  DESKTOP,
  PASSWORD,
  PHONE,
  checkA11y,
  expectChecked,
  expectFieldError,
  expectReflows,
  expectText,
  expectValue,
  fail,
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
const B = required('HEARTH_B_URL').replace(/\/$/, '');
const A_DOMAIN = required('HEARTH_A_DOMAIN');
// Server B's name as A's receipts give it (localhost:PORT).
const B_DOMAIN = required('HEARTH_B_DOMAIN');

// Mirrors hearth_domain::post::BODY_MAX: a body one character longer is
// refused.
const BODY_MAX = 20_000;

const GROUP = { name: 'peers', title: 'Type 1 Peers' };
const GROUP_HANDLE = `${GROUP.name}@${A_DOMAIN}`;
const POST = {
  title: 'Pacing on bad days',
  body: 'How do you **pace** yourselves when everything hurts?',
  bodyShown: 'yourselves when everything hurts?',
  warning: 'pain, low mood',
};
const REPLY = 'Pacing helps me: I rest before I get tired, not after.';
// What cal, a third member, writes and then takes back: every word of it
// carries MARKER, so that no trace of it is missed on either server
// (tests/browser.rs looks in both databases too).
const MARKER = /marmalade/i;
const CAL_THREAD = {
  title: 'Marmalade toast at night',
  body: 'Marmalade toast before bed keeps my sugar steady overnight.',
};
const CAL_REPLY = 'Marmalade on oatcakes works for me when I am too tired to cook.';

// Pages every signed-in member can reach (and, ann being the group's
// moderator, its moderators' pages), checked with axe on server A once the
// journey is done. `{group}` and `{username}` are filled in.
/**
 * Reload the receipt at `url` (a deleted post's or account's) until the
 * row for server B says it deleted what it held, and check that B is the
 * only other server that held any of it. Returns how many loads it took.
 */
async function untilBDeleted(person, url) {
  const { page } = person;
  const rows = page.locator('table.receipt tbody tr');
  const row = page.locator(`table.receipt tr[data-server="${B_DOMAIN}"]`);
  const loads = await reloadUntil(person, url, `the receipt's row for ${B_DOMAIN} to say "Deleted"`, async () =>
    (await row.count()) === 1 && (await row.getAttribute('data-state')) === 'acknowledged',
  );
  const servers = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.server));
  if (servers.length !== 1) fail(`the receipt lists ${servers.join(', ')}; only ${B_DOMAIN} held any of it`);
  const says = (await row.innerText()).replace(/\s+/g, ' ');
  if (!says.includes('Deleted') || !says.includes('this server deleted it')) {
    fail(`the row for ${B_DOMAIN} does not say in words that it deleted it: ${says}`);
  }
  await expectText(person, 'Every server has answered. There is nothing more to do.');
  await expectReflows(person);
  return loads;
}

/** Fail if the page person is on holds any of cal's words, even hidden. */
async function expectNoneOfCals(person, where) {
  const html = await person.page.content();
  if (MARKER.test(html)) fail(`${where} (${person.page.url()}) still holds cal's words`);
}

const MEMBER_PAGES = [
  '/',
  '/groups',
  '/groups/{group}',
  '/settings',
  '/help',
  '/groups/{group}/requests',
  '/groups/{group}/log',
  '/groups/{group}/bans',
  '/groups/{group}/moderators',
  '/moderation/reports',
  '/moderation/reports?state=resolved',
  '/me/reports',
  '/people/{username}',
  '/notifications',
];

async function journey(person) {
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
    // A new group is members only unless its creator says otherwise, and
    // each choice says what it means beside it.
    await expectChecked(page, '#group-vis-members', 'members only, the default');
    const says = await page.locator('#group-vis-members-says').innerText();
    if (!says.includes('members of the group only')) fail(`"members only" is explained as "${says}"`);
    if (!(await page.locator('#group-vis-public-says').isVisible())) fail('"public posts allowed" is not explained');
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
    // Who will read the post, beside each choice; no "public" in a
    // members-only group.
    const members = await page.locator('#vis-members-says').innerText();
    if (!members.includes(`Only members of ${GROUP.title} can read it`)) fail(`"members" is explained as "${members}"`);
    const local = await page.locator('#vis-local-says').innerText();
    if (!local.includes('never sent to other servers')) fail(`"only this server" is explained as "${local}"`);
    if ((await page.locator('#vis-public').count()) !== 0) fail('a members-only group offers "public"');
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

  // Taking things back: cal, a member on A, deletes a post, then the
  // whole account, and reads what B's server did with its copies.
  const cal = await person('cal');
  const groupPathB = `/groups/${GROUP_HANDLE}`;
  let calThread = '';

  await step('A: cal signs up, joins the group, writes a thread and replies to ann', cal, async () => {
    const { page } = cal;
    await signUp(cal, A, 'cal');
    await visit(cal, A, `/groups/${GROUP.name}`);
    await press(cal, 'Join group');
    await page.getByRole('button', { name: 'Leave group', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Write a post' }).click();
    await page.waitForURL(`${A}/groups/${GROUP.name}/new`);
    await page.locator('#title').fill(CAL_THREAD.title);
    await page.locator('#kind-my-situation').check();
    await page.locator('#body').fill(CAL_THREAD.body);
    await page.locator('#vis-members').check();
    await press(cal, 'Post to the group');
    if (!/^\/posts\/\d+$/.test(new URL(page.url()).pathname)) fail(`posting led to ${page.url()}, not a thread`);
    calThread = page.url();
    await page.getByRole('heading', { level: 1, name: CAL_THREAD.title }).waitFor();
    await visit(cal, A, new URL(threadA).pathname);
    const form = page.locator('form[action$="/reply"]').first();
    await form.locator('textarea').fill(CAL_REPLY);
    await press(cal, 'Send reply', form);
    await page.locator('ul.replies').getByText(CAL_REPLY).waitFor();
    return { thread: calThread };
  });

  let calThreadB = '';
  await step('B: bea reads cal\'s thread and reply', bea, async () => {
    const { page } = bea;
    const link = page.getByRole('link', { name: CAL_THREAD.title });
    const loads = await reloadUntil(bea, B + groupPathB, `cal's thread "${CAL_THREAD.title}"`, async () => (await link.count()) > 0);
    await link.click();
    await page.waitForURL(/\/posts\/\d+$/);
    calThreadB = page.url();
    await expectText(bea, CAL_THREAD.body);
    const reply = page.locator('ul.replies article').filter({ hasText: CAL_REPLY });
    await reloadUntil(bea, remoteThread, 'cal\'s reply', async () => (await reply.count()) > 0);
    return { loads, thread: calThreadB };
  });

  await step('A: cal deletes the thread; "Your deleted post" says B\'s server deleted it too', cal, async () => {
    const { page } = cal;
    const id = new URL(calThread).pathname.split('/').pop();
    await visit(cal, A, new URL(calThread).pathname);
    await press(cal, 'Delete this post');
    if (new URL(page.url()).pathname !== `/posts/${id}/erasure`) fail(`deleting the post led to ${page.url()}`);
    await page.getByRole('heading', { level: 1, name: 'Your deleted post' }).waitFor();
    await expectText(cal, 'It is gone from this server.');
    await checkA11y(cal, 'a deleted post\'s receipt, just deleted');
    const loads = await untilBDeleted(cal, page.url());
    await expectNoneOfCals(cal, 'the post\'s receipt');
    await checkA11y(cal, 'a deleted post\'s receipt, B confirmed');
    await screenshot(cal, 'post-deleted-phone', PHONE);
    return { loads };
  });

  await step('B: cal\'s thread is gone from the group on B', bea, async () => {
    const { page } = bea;
    const link = page.getByRole('link', { name: CAL_THREAD.title });
    const loads = await reloadUntil(bea, B + groupPathB, 'cal\'s thread to leave the group page', async () => (await link.count()) === 0);
    await expectNoneOfCals(bea, 'the group page on B');
    const response = await page.goto(calThreadB);
    if (![200, 404, 410].includes(response?.status())) fail(`the deleted thread on B answered HTTP ${response?.status()}`);
    await expectNoneOfCals(bea, 'the deleted thread on B');
    return { loads, status: response?.status() };
  });

  await step('A: cal opens "Delete your account" from Settings; a wrong password is refused next to the field', cal, async () => {
    const { page } = cal;
    await visit(cal, A, '/settings');
    await page.locator('main').getByRole('link', { name: 'Delete your account' }).click();
    await page.waitForURL(`${A}/me/delete`);
    await page.getByRole('heading', { level: 1, name: 'Delete your account' }).waitFor();
    await expectText(cal, 'This cannot be undone.');
    await checkA11y(cal, 'delete your account');
    await page.locator('#password').fill('not my passphrase at all');
    const response = await press(cal, 'Delete my account');
    if (response?.status() !== 422) fail(`a wrong password was answered with HTTP ${response?.status()}, expected 422`);
    const message = await expectFieldError(page, 'password', 'That is not your password');
    // The explanation above the form is long: the summary comes first, so
    // that on a phone the problem is the first thing seen.
    const summaryFirst = await page.evaluate(() => {
      const summary = document.querySelector('main .error-summary');
      const h1 = document.querySelector('main h1');
      return Boolean(summary && h1 && summary.compareDocumentPosition(h1) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    if (!summaryFirst) fail('the error summary is not at the top of the page, before its heading');
    // Nothing was deleted: cal is still logged in.
    await page.locator('header').getByRole('button', { name: 'Log out', exact: true }).waitFor();
    await checkA11y(cal, 'delete your account, wrong password');
    await screenshot(cal, 'delete-account-error-phone', PHONE);
    return { message };
  });

  await step('A: cal deletes the account; logged out, the receipt says B\'s server deleted it too', cal, async () => {
    const { page, context } = cal;
    const session = (await context.cookies()).filter((c) => c.name === 'hearth_session');
    if (session.length !== 1) fail('cal has no session cookie before deleting the account');
    await page.locator('#password').fill(PASSWORD);
    const response = await press(cal, 'Delete my account');
    if (response?.status() !== 200 || !/^\/erasures\/[^/]+$/.test(new URL(page.url()).pathname)) {
      fail(`deleting the account led to ${page.url()} (HTTP ${response?.status()})`);
    }
    const receipt = page.url();
    await page.getByRole('heading', { level: 1, name: 'Your deleted account' }).waitFor();
    await expectText(cal, 'Keep the address of this page');
    // Logged out: the header offers to log in.
    const header = page.locator('header');
    await header.getByRole('link', { name: 'Log in', exact: true }).waitFor();
    if ((await header.getByRole('button', { name: 'Log out' }).count()) !== 0) fail('the receipt\'s header still offers "Log out"');
    await checkA11y(cal, 'a deleted account\'s receipt, just deleted');
    const loads = await untilBDeleted(cal, receipt);
    await expectNoneOfCals(cal, 'the account\'s receipt');
    await checkA11y(cal, 'a deleted account\'s receipt, B confirmed');
    await screenshot(cal, 'account-deleted-phone', PHONE);
    // The server forgot the session, not only the browser: the old cookie,
    // put back, logs nobody in.
    await context.addCookies(session);
    await visit(cal, A, '/');
    await header.getByRole('link', { name: 'Log in', exact: true }).waitFor();
    await expectText(cal, 'Welcome');
    await context.clearCookies();
    return { loads };
  });

  await step('A: cal cannot log in again with the old password', cal, async () => {
    const { page } = cal;
    await visit(cal, A, '/login');
    await page.locator('#username').fill('cal');
    await page.locator('#password').fill(PASSWORD);
    const response = await press(cal, 'Log in');
    if (response?.status() !== 422 || new URL(page.url()).pathname !== '/login') {
      fail(`logging in to the deleted account led to ${page.url()} (HTTP ${response?.status()}), expected 422 on the log-in page`);
    }
    await page.locator('header').getByRole('link', { name: 'Log in', exact: true }).waitFor();
    const said = (await page.locator('main .error-summary, main .notice').allInnerTexts()).join(' ').replace(/\s+/g, ' ').trim();
    if (!said) fail('the refused log-in says nothing');
    return { said };
  });

  await step('B: cal\'s reply is gone from the thread on B; ann\'s post and bea\'s reply stay', bea, async () => {
    const { page } = bea;
    const loads = await reloadUntil(bea, remoteThread, 'cal\'s reply to be gone', async () => !MARKER.test(await page.content()));
    await page.getByRole('heading', { level: 1, name: POST.title }).waitFor();
    if ((await page.locator('ul.replies article').filter({ hasText: REPLY }).count()) !== 1) fail('bea\'s own reply went with cal\'s');
    await visit(bea, B, groupPathB);
    await expectNoneOfCals(bea, 'the group page on B');
    await page.getByRole('link', { name: POST.title }).waitFor();
    return { loads };
  });
}

await main(journey);
