// A person's own account: creating one (only when the platform takes sign-ups), their name, and
// their password — which signs their other sessions out.
import type { RestClient } from '@platform-sm/testkit';
import { expect, personIn, screenshot, test, webUrl } from './fixtures.ts';

// The sign-up test flips a platform-wide setting: no other test depends on it, but two copies of
// this file must not run at once (repeat it with --workers=1).
test.describe.configure({ mode: 'serial' });

/** The platform-wide sign-up switch (an admin's setting), as an admin sets it through REST. */
async function signUps(admin: RestClient, on: boolean): Promise<void> {
  await admin.put('/settings/auth.signup_enabled', { key: 'auth.signup_enabled', value: on }).catch(() =>
    admin.post('/settings', { key: 'auth.signup_enabled', value: on }),
  );
}

test('signs up when the platform takes sign-ups, and is told so when it does not', async ({ page, admin }) => {
  const email = `newcomer.${Date.now()}@e2e.test`;
  await signUps(admin, false);
  await page.goto(webUrl);
  await page.getByRole('button', { name: 'No account? Create one' }).click();
  await expect(page.getByRole('heading', { name: 'Create your Platform SM account' })).toBeVisible();
  await page.getByLabel('Name').fill('Nina Newcomer');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a-fine-password-1');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('alert')).toHaveText('This platform does not take sign-ups: ask an administrator for an account.');

  await signUps(admin, true);
  await page.getByLabel('Email').fill('not an email');
  await page.getByRole('button', { name: 'Create account' }).click();
  // The server's reason stands beside the field it is about.
  await expect(page.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true');
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('heading', { name: 'My projects' })).toBeVisible();
  await expect(page.getByText('You are not a member of any project yet.', { exact: false })).toBeVisible();
  await signUps(admin, false);
});

test('renames themself and changes their password; their other session is signed out', async ({ browser, newUser }) => {
  const user = await newUser({ name: 'Pat Password' });
  const page = await personIn(browser, user);
  const elsewhere = await personIn(browser, user);

  await page.getByRole('button', { name: 'Account menu' }).click();
  await page.getByRole('menuitem', { name: 'Account and API tokens' }).click();
  await expect(page.getByRole('heading', { name: 'Account' })).toBeVisible();
  const rename = page.getByRole('form', { name: 'Change your name' });
  await rename.getByLabel('Name').fill('Pat Renamed');
  await rename.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByText('Name saved.')).toBeVisible();
  await expect(page.getByRole('region', { name: 'Profile' })).toContainText('Pat Renamed');

  const password = page.getByRole('form', { name: 'Change your password' });
  await password.getByLabel('Current password').fill('not-the-password');
  await password.getByLabel('New password', { exact: true }).fill('a-new-password-2');
  await password.getByLabel('New password again').fill('a-new-password-22');
  await expect(password.getByText('The two new passwords differ.')).toBeVisible();
  await expect(password.getByRole('button', { name: 'Change password' })).toBeDisabled();
  await password.getByLabel('New password again').fill('a-new-password-2');
  await password.getByRole('button', { name: 'Change password' }).click();
  await expect(password.getByLabel('Current password')).toHaveAttribute('aria-invalid', 'true');
  await password.getByLabel('Current password').fill(user.password);
  await password.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Password changed. Your other sessions were signed out; this one stays.')).toBeVisible();
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'web-account');

  // This page goes on; the other session has ended and says so; the new password signs in.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Account' })).toBeVisible();
  await elsewhere.reload();
  await expect(elsewhere.getByRole('button', { name: 'Sign in' })).toBeVisible();
  await elsewhere.getByLabel('Email').fill(user.email);
  await elsewhere.getByLabel('Password').fill(user.password);
  await elsewhere.getByRole('button', { name: 'Sign in' }).click();
  await expect(elsewhere.getByRole('alert')).toHaveText('Wrong email or password.');
  await elsewhere.getByLabel('Password').fill('a-new-password-2');
  await elsewhere.getByRole('button', { name: 'Sign in' }).click();
  await expect(elsewhere.getByRole('heading', { name: 'My projects' })).toBeVisible();
});
