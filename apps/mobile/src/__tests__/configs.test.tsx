// A project's configs: editing with validation, the conflict flow (a save that loses the race,
// and a change arriving live while the editor is open), viewers, offline refusal, history.
// (Cards and panels are found by their label: React Native Testing Library finds by role only
// elements that are one accessibility element, which a card with buttons inside must not be.)
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { act, fireEvent, screen, within } from '@testing-library/react-native';
import { FakePlatform, type FakeUser } from '../test/fakePlatform';
import { setOnline } from '../test/networkMock';
import { expectText, renderApp, settle, signInAs, stopApps } from '../test/renderApp';

let platform: FakePlatform;
let olga: FakeUser;
let eddie: FakeUser;
let vera: FakeUser;
let project: ReturnType<FakePlatform['addProject']>;

beforeEach(() => {
  platform = new FakePlatform();
  olga = platform.addUser('Olga Owner');
  eddie = platform.addUser('Eddie Editor');
  vera = platform.addUser('Vera Viewer');
  project = platform.addProject('Checkout', olga, [
    [eddie, 'EDITOR'],
    [vera, 'VIEWER'],
  ]);
  platform.setConfig(project, 'limit', 1, olga);
});
afterEach(stopApps);

async function openCheckoutAs(user: FakeUser, limit = '1') {
  const app = renderApp(platform);
  await signInAs(user);
  fireEvent.press(await screen.findByRole('button', { name: 'Checkout' }));
  await expectText('Value of limit', limit);
  // The project's live subscription is up.
  await settle();
  return app;
}

const row = (key: string) => within(screen.getByLabelText(key));

describe('editing a config', () => {
  it('checks the JSON as it is typed and saves with the version it opened', async () => {
    await openCheckoutAs(eddie);
    fireEvent.press(screen.getByRole('button', { name: 'Edit limit' }));
    const field = screen.getByLabelText('New value of limit');
    expect(field.props.value).toBe('1');
    fireEvent.changeText(field, '{oops');
    expect(row('limit').getByText(/^Not valid JSON: /)).toBeOnTheScreen();
    expect(screen.getByRole('button', { name: 'Save limit' })).toBeDisabled();
    fireEvent.changeText(field, '');
    expect(row('limit').getByText('Enter a JSON value, e.g. true, 42, "text" or {"a": 1}.')).toBeOnTheScreen();
    fireEvent.changeText(field, '{"max": 5}');
    fireEvent.press(screen.getByRole('button', { name: 'Save limit' }));
    await expectText('Value of limit', '{ "max": 5 }', { exact: false, normalizeWhitespace: true });
    const save = platform.operations.find((o) => o.name === 'SetConfig');
    expect(save?.variables).toMatchObject({ key: 'limit', value: { max: 5 }, expectedVersion: 1 });
    expect(platform.config(project, 'limit')).toMatchObject({ value: { max: 5 }, version: 2, updatedBy: eddie.id });
    // One's own save brings no notice.
    expect(screen.queryByRole('status', { name: /set limit/ })).toBeNull();
  });

  it('a save that lost the race shows their value and applies mine over theirs on request', async () => {
    await openCheckoutAs(eddie);
    fireEvent.press(screen.getByRole('button', { name: 'Edit limit' }));
    fireEvent.changeText(screen.getByLabelText('New value of limit'), '2');
    // Olga saves meanwhile, and the event is late (no live notice before the save).
    for (const s of platform.openSockets) s.stall();
    const theirVersion = platform.setConfig(project, 'limit', 5, olga).version;
    fireEvent.press(screen.getByRole('button', { name: 'Save limit' }));
    const alert = await screen.findByLabelText('Conflict on limit');
    expect(alert).toHaveTextContent('Changed by someone else: Olga Owner saved version 2 while you were editing.', { exact: false });
    expect(within(alert).getByLabelText('Their value')).toHaveTextContent('5');
    // My draft is kept below.
    expect(screen.getByLabelText('New value of limit').props.value).toBe('2');
    expect(platform.config(project, 'limit')?.value).toBe(5);

    fireEvent.press(within(alert).getByRole('button', { name: 'Apply mine' }));
    await expectText('Value of limit', '2');
    const saves = platform.operations.filter((o) => o.name === 'SetConfig').map((o) => o.variables.expectedVersion);
    expect(saves).toEqual([1, theirVersion]);
    expect(platform.config(project, 'limit')).toMatchObject({ value: 2, version: 3 });
  });

  it('a change arriving live while editing shows at once; keeping theirs drops my draft', async () => {
    await openCheckoutAs(eddie);
    fireEvent.press(screen.getByRole('button', { name: 'Edit limit' }));
    fireEvent.changeText(screen.getByLabelText('New value of limit'), '2');
    act(() => void platform.setConfig(project, 'limit', 7, olga));
    const alert = await screen.findByLabelText('Conflict on limit');
    expect(alert).toHaveTextContent('Changed by someone else: Olga Owner saved version 2 while you were editing.', { exact: false });
    expect(within(alert).getByLabelText('Their value')).toHaveTextContent('7');
    // The small in-app notice says who did what.
    expect(screen.getByRole('status', { name: 'Olga Owner set limit to 7' })).toBeOnTheScreen();
    fireEvent.press(within(alert).getByRole('button', { name: 'Keep theirs' }));
    await expectText('Value of limit', '7');
    expect(platform.operations.some((o) => o.name === 'SetConfig')).toBe(false);
  });

  it('values change live for everyone on the screen', async () => {
    await openCheckoutAs(vera);
    act(() => void platform.setConfig(project, 'limit', 9, eddie));
    await expectText('Value of limit', '9');
    act(() => void platform.setConfig(project, 'banner', 'hello', eddie));
    await expectText('Value of banner', '"hello"');
  });

  it('a viewer reads but has nothing to edit', async () => {
    await openCheckoutAs(vera);
    expect(screen.queryByRole('button', { name: 'Edit limit' })).toBeNull();
    expect(screen.getByText('You can read these configs; editors and owners change them.')).toBeOnTheScreen();
    fireEvent.press(screen.getByRole('tab', { name: 'Members' }));
    await expectText('Olga Owner', 'Owner', { exact: false });
    expect(screen.getByLabelText('Vera Viewer')).toHaveTextContent('Vera Viewer (you)', { exact: false });
    expect(screen.queryByRole('radio')).toBeNull();
    expect(screen.queryByLabelText('Add by email')).toBeNull();
  });

  it('offline: the values stay readable, and a save is refused with a message, not queued', async () => {
    await openCheckoutAs(eddie);
    fireEvent.press(screen.getByRole('button', { name: 'Edit limit' }));
    fireEvent.changeText(screen.getByLabelText('New value of limit'), '3');
    act(() => setOnline(false));
    expect(screen.getByText('Offline — showing what was last loaded. Changes cannot be saved until you are back online.')).toBeOnTheScreen();
    expect(screen.getByText('Offline: you can keep editing, but nothing is saved until you are back online.')).toBeOnTheScreen();
    expect(screen.getByRole('button', { name: 'Save limit' })).toBeDisabled();
    fireEvent.press(screen.getByRole('button', { name: 'Save limit' }));
    await settle();
    expect(platform.operations.some((o) => o.name === 'SetConfig')).toBe(false);
    // Back online, the draft is still there and saves.
    act(() => setOnline(true));
    fireEvent.press(screen.getByRole('button', { name: 'Save limit' }));
    await expectText('Value of limit', '3');
    expect(platform.config(project, 'limit')?.value).toBe(3);
  });

  it('a save that cannot reach the server says it was not saved and keeps the draft', async () => {
    await openCheckoutAs(eddie);
    fireEvent.press(screen.getByRole('button', { name: 'Edit limit' }));
    fireEvent.changeText(screen.getByLabelText('New value of limit'), '4');
    platform.fail('SetConfig', { kind: 'network' });
    fireEvent.press(screen.getByRole('button', { name: 'Save limit' }));
    expect(await screen.findByText('Not saved: Cannot reach the server. Check your connection and try again.')).toBeOnTheScreen();
    expect(screen.getByLabelText('New value of limit').props.value).toBe('4');
    expect(platform.config(project, 'limit')?.value).toBe(1);
  });

  it('shows a config’s recent history, newest first', async () => {
    platform.setConfig(project, 'limit', 2, eddie);
    await openCheckoutAs(vera, '2');
    fireEvent.press(screen.getByRole('button', { name: 'History of limit' }));
    expect(await screen.findByRole('heading', { name: 'History of limit' })).toBeOnTheScreen();
    const versions = screen.getAllByLabelText(/^Version \d+$/).map((i) => i.props['aria-label'] as string);
    expect(versions).toEqual(['Version 2', 'Version 1']);
    expect(screen.getByLabelText('Version 2')).toHaveTextContent('set by Eddie Editor', { exact: false });
    expect(screen.getByLabelText('Value of version 1')).toHaveTextContent('1');
    fireEvent.press(screen.getByRole('button', { name: 'Back to Checkout' }));
    await expectText('Value of limit', '2');
  });
});
