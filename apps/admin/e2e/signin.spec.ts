import { adminUrl, expect, screenshot, signIn, signOut, stack, test } from './fixtures';

test('an admin signs in, sees the projects, and signs out', async ({ page, admin }) => {
  const project = await admin.createProject({ name: 'Sign-in check' });
  await page.goto(adminUrl);
  await screenshot(page, 'login');
  await signIn(page, stack.admin.email, stack.admin.password);
  await page.getByRole('menuitem', { name: 'Projects' }).click();
  // Other tests make projects too: find ours like a user would.
  await page.getByRole('textbox', { name: 'Search' }).fill(project.slug);
  // The search applies after a short debounce: wait until the list is filtered.
  await expect(page).toHaveURL(new RegExp(`filter=.*${encodeURIComponent(project.slug)}`));
  await expect(page.getByRole('cell', { name: project.slug })).toBeVisible();

  await signOut(page);
  // The session is gone, not just hidden: a reload stays on the login page.
  await page.reload();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('a wrong password says so and stays on the login page', async ({ page, newUser }) => {
  const user = await newUser();
  await page.goto(adminUrl);
  await page.getByLabel('Email').fill(user.email);
  await page.getByRole('textbox', { name: 'Password' }).fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Wrong email or password.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});
