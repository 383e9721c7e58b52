// The verified-professionals journey behind tests/browser.rs: three people
// on one Hearth server, each in their own headless Chromium context,
// through the web pages only. Ruth, an admin, verifies Nina's role on
// "Verified professionals" (a role that is markup is refused next to the
// field first). Nina, now offered "Speaking as" on the new-post form,
// posts as a professional; Rob, a member who is not verified, is not
// offered the choice. Rob reads Nina's thread: her role "verified by" the
// server beside her name, and the disclaimer under her words. Ruth
// revokes it, and Rob sees the badge and the disclaimer gone.
//
// Every page reached is checked with axe-core (see harness.mjs).
//
// Input (environment): HEARTH_A_URL, the server's base URL
// (http://127.0.0.1:PORT); HEARTH_ADMIN, the username of an admin already
// made (with the harness's password); the rest is in harness.mjs.

import {
  PHONE,
  checkA11y,
  expectFieldError,
  expectText,
  fail,
  logIn,
  main,
  press,
  required,
  screenshot,
  signUp,
  step,
  visit,
} from './harness.mjs';

const A = required('HEARTH_A_URL').replace(/\/$/, '');
const ADMIN = required('HEARTH_ADMIN');
const HOST = new URL(A).host.replace('127.0.0.1', 'localhost');

const GROUP = { name: 'chemo', title: 'Through Chemo Together' };
const ROLE = 'Registered nurse, oncology';
const THREAD = { title: 'Mouth care during chemo', body: 'Rinse gently with salt water after meals.' };
const DISCLAIMER = 'General information, not advice for your situation.';

async function journey(person) {
  const nina = await person('nina');
  const rob = await person('rob');
  const ruth = await person('ruth');
  let thread = '';

  await step('nina and rob sign up; nina starts a group and rob joins', nina, async () => {
    await signUp(nina, A, 'nina');
    const { page } = nina;
    await visit(nina, A, '/groups/new');
    await page.locator('#title').fill(GROUP.title);
    await page.locator('#name').fill(GROUP.name);
    await page.locator('#policy-open').check();
    await press(nina, 'Start the group');
    await signUp(rob, A, 'rob');
    await visit(rob, A, `/groups/${GROUP.name}`);
    await press(rob, 'Join group');
    await rob.page.getByRole('button', { name: 'Leave group', exact: true }).waitFor();
    // Not verified: no "Speaking as" yet.
    await visit(nina, A, `/groups/${GROUP.name}/new`);
    if ((await page.getByRole('group', { name: 'Speaking as' }).count()) !== 0) fail('nina is offered to speak as a professional before she is verified');
  });

  await step('ruth verifies nina on "Verified professionals"', ruth, async () => {
    const { page } = ruth;
    await logIn(ruth, A, ADMIN);
    await page.locator('header').getByRole('link', { name: 'Verified professionals' }).click();
    await page.waitForURL(`${A}/admin/professionals`);
    await checkA11y(ruth, 'verified professionals');
    await page.locator('#username').fill('nina');
    await page.locator('#role').fill('<b>Nurse</b>');
    const refused = await press(ruth, 'Verify this role');
    if (refused?.status() !== 422) fail(`a role that is markup was answered with HTTP ${refused?.status()}`);
    await expectFieldError(page, 'role', 'plain words');
    await checkA11y(ruth, 'verified professionals with an error');
    await page.locator('#role').fill(ROLE);
    const done = await press(ruth, 'Verify this role');
    if (done?.status() !== 200) fail(`verifying was answered with HTTP ${done?.status()}`);
    await expectText(ruth, `nina is verified as ${ROLE}`);
    await screenshot(ruth, 'professionals-phone', PHONE);
  });

  await step('nina posts as a professional; rob is not offered the choice', nina, async () => {
    const { page } = nina;
    await visit(nina, A, `/groups/${GROUP.name}/new`);
    await page.getByRole('group', { name: 'Speaking as' }).waitFor();
    await page.locator('#title').fill(THREAD.title);
    await page.locator('#kind-general-knowledge').check();
    await page.locator('#body').fill(THREAD.body);
    await page.locator('#compose-professional').check();
    await press(nina, 'Post to the group');
    thread = new URL(page.url()).pathname;
    if (!/^\/posts\/\d+$/.test(thread)) fail(`posting led to ${page.url()}`);
    await expectText(nina, `${ROLE} · verified by ${HOST}`);
    await visit(rob, A, `/groups/${GROUP.name}/new`);
    if ((await rob.page.getByRole('group', { name: 'Speaking as' }).count()) !== 0) fail('rob is offered to speak as a professional');
  });

  await step('rob reads the badge and the disclaimer', rob, async () => {
    await visit(rob, A, thread);
    await expectText(rob, `${ROLE} · verified by ${HOST}`);
    await expectText(rob, DISCLAIMER);
    await expectText(rob, 'Written as a professional');
    await screenshot(rob, 'professional-post-phone', PHONE);
  });

  await step('ruth revokes it; the badge and the disclaimer are gone for rob', ruth, async () => {
    const { page } = ruth;
    await visit(ruth, A, '/admin/professionals');
    await press(ruth, 'Revoke nina\'s verification');
    await expectText(ruth, 'Nobody is verified yet');
    await visit(rob, A, thread);
    const text = (await rob.page.locator('main').innerText()).replace(/\s+/g, ' ');
    if (text.includes('verified by')) fail('the badge is still shown after the verification was revoked');
    if (text.includes(DISCLAIMER)) fail('the disclaimer is still shown after the verification was revoked');
    if (!text.includes(THREAD.body)) fail('the post itself is gone');
    // Rob may not verify anyone.
    await visit(rob, A, '/admin/professionals', 403);
    if ((await page.content()).length === 0) fail('ruth\'s page is empty');
  });
}

await main(journey);
