// Members: owners add people by email (an unknown email said plainly), change roles and remove
// after a confirmation; offline, these writes are refused.
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { act, fireEvent, screen, within } from '@testing-library/react-native';
import { FakePlatform, type FakeUser } from '../test/fakePlatform';
import { setOnline } from '../test/networkMock';
import { expectText, renderApp, settle, signInAs, stopApps } from '../test/renderApp';

let platform: FakePlatform;
let olga: FakeUser;
let eddie: FakeUser;
let nina: FakeUser;
let project: ReturnType<FakePlatform['addProject']>;

beforeEach(() => {
  platform = new FakePlatform();
  olga = platform.addUser('Olga Owner');
  eddie = platform.addUser('Eddie Editor');
  nina = platform.addUser('Nina Newcomer');
  project = platform.addProject('Checkout', olga, [[eddie, 'EDITOR']]);
});
afterEach(stopApps);

async function openMembersAsOwner() {
  renderApp(platform);
  await signInAs(olga);
  fireEvent.press(await screen.findByRole('button', { name: 'Checkout' }));
  fireEvent.press(await screen.findByRole('tab', { name: 'Members' }));
  await screen.findByLabelText('Eddie Editor');
  await settle();
}

it('an owner adds by email, and an unknown email is said plainly', async () => {
  await openMembersAsOwner();
  fireEvent.changeText(screen.getByLabelText('Add by email'), 'nobody@example.test');
  fireEvent.press(screen.getByRole('button', { name: 'Add member' }));
  expect(await screen.findByText('Nobody has the email nobody@example.test on this platform.')).toBeOnTheScreen();

  fireEvent.changeText(screen.getByLabelText('Add by email'), nina.email);
  fireEvent.press(within(screen.getByLabelText('Role of the new member')).getByRole('radio', { name: 'Editor' }));
  fireEvent.press(screen.getByRole('button', { name: 'Add member' }));
  expect(await screen.findByText('Nina Newcomer was added as editor.')).toBeOnTheScreen();
  expect(await screen.findByLabelText('Nina Newcomer')).toBeOnTheScreen();
  expect(project.members.find((m) => m.userId === nina.id)?.role).toBe('EDITOR');
});

it('an owner changes a role, and removes a member only after confirming', async () => {
  await openMembersAsOwner();
  const roles = within(screen.getByLabelText('Role of Eddie Editor'));
  expect(roles.getByRole('radio', { name: 'Editor' })).toBeChecked();
  fireEvent.press(roles.getByRole('radio', { name: 'Viewer' }));
  await settle();
  expect(project.members.find((m) => m.userId === eddie.id)).toMatchObject({ role: 'VIEWER', version: 2 });
  expect(within(screen.getByLabelText('Role of Eddie Editor')).getByRole('radio', { name: 'Viewer' })).toBeChecked();

  fireEvent.press(screen.getByRole('button', { name: 'Remove Eddie Editor' }));
  expect(screen.getByText('Remove Eddie Editor from the project?')).toBeOnTheScreen();
  expect(project.members.some((m) => m.userId === eddie.id)).toBe(true);
  fireEvent.press(screen.getByRole('button', { name: 'Confirm removing Eddie Editor' }));
  await settle();
  expect(project.members.some((m) => m.userId === eddie.id)).toBe(false);
  expect(screen.queryByLabelText('Eddie Editor')).toBeNull();
});

it('offline, a member change is refused with a message', async () => {
  await openMembersAsOwner();
  act(() => setOnline(false));
  fireEvent.press(within(screen.getByLabelText('Role of Eddie Editor')).getByRole('radio', { name: 'Owner' }));
  expect(await screen.findByText('You are offline: this change was not saved. It can be saved once you are back online.')).toBeOnTheScreen();
  expect(project.members.find((m) => m.userId === eddie.id)?.role).toBe('EDITOR');
  await expectText('Olga Owner', 'Olga Owner (you)', { exact: false });
});
