import { graphql, uniq } from '@platform-sm/testkit';
import { expect, screenshot, signIn, stack, test } from './fixtures';

test('a change made through GraphQL appears on an open list and an open record', async ({ page, admin }) => {
  const tag = uniq();
  const project = await admin.createProject({ name: `Live ${tag}` });
  await signIn(page, stack.admin.email, stack.admin.password);

  // An open list (filtered to this test's projects): a project created elsewhere shows up.
  await page.getByRole('menuitem', { name: 'Projects' }).click();
  await page.getByRole('textbox', { name: 'Search' }).fill(tag);
  // The search applies after a short debounce: wait until the list is filtered.
  await expect(page).toHaveURL(new RegExp(`filter=.*${encodeURIComponent(tag)}`));
  await expect(page.getByRole('cell', { name: project.slug })).toBeVisible();
  await expect(page.getByText('Live', { exact: true })).toBeVisible();
  const slug = `graphql-${tag}`;
  await graphql(
    stack.graphqlUrl,
    await admin.freshToken(),
    'mutation($s: String!, $n: String!) { createProject(input: {slug: $s, name: $n}) { id } }',
    { s: slug, n: `Made in GraphQL ${tag}` },
  );
  await expect(page.getByRole('cell', { name: slug })).toBeVisible();
  await screenshot(page, 'projects');

  // An open record: its name changes in place.
  await page.getByRole('cell', { name: project.slug }).click();
  await expect(page.getByText(project.name).first()).toBeVisible();
  await graphql(
    stack.graphqlUrl,
    await admin.freshToken(),
    'mutation($id: ID!) { updateProject(id: $id, input: {name: "Renamed over GraphQL"}) { id } }',
    { id: project.id },
  );
  await expect(page.getByText('Renamed over GraphQL').first()).toBeVisible();
  await screenshot(page, 'project');

  // And a config set over GraphQL appears in the open Configs tab.
  await page.getByRole('tab', { name: 'Configs' }).click();
  await graphql(
    stack.graphqlUrl,
    await admin.freshToken(),
    'mutation($p: ID!) { setConfig(projectId: $p, key: "live.flag", value: true) { key } }',
    { p: project.id },
  );
  await expect(page.getByRole('row').filter({ hasText: 'live.flag' })).toBeVisible();
});
