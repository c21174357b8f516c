// The projects screen's states — loading, empty, error (and retry), offline — search, and
// pull to refresh; signing in and out.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { act, fireEvent, screen, within } from '@testing-library/react-native';
import { FakePlatform } from '../test/fakePlatform';
import { setOnline } from '../test/networkMock';
import { renderApp, settle, signInAs, stopApps } from '../test/renderApp';

let platform: FakePlatform;
beforeEach(() => {
  platform = new FakePlatform();
});
afterEach(stopApps);

describe('signing in', () => {
  it('says a wrong password plainly, then signs in, keeps the tokens in the storage, and signs out', async () => {
    const ann = platform.addUser('Ann Member');
    const { storage } = renderApp(platform);
    fireEvent.changeText(await screen.findByLabelText('Email'), ann.email);
    fireEvent.changeText(screen.getByLabelText('Password'), 'not-it');
    fireEvent.press(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Wrong email or password.')).toBeOnTheScreen();
    expect(storage.data.size).toBe(0);

    fireEvent.changeText(screen.getByLabelText('Password'), ann.password);
    fireEvent.press(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'My projects' })).toBeOnTheScreen();
    const stored = JSON.parse(storage.data.get('platform-sm.mobile.session') ?? '{}') as { user?: { id: string } };
    expect(stored.user?.id).toBe(ann.id);

    fireEvent.press(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeOnTheScreen();
    expect(storage.data.has('platform-sm.mobile.session')).toBe(false);
    expect(platform.operations.map((o) => o.name)).toContain('Logout');
  });

  it('asks for both fields before calling the server', async () => {
    renderApp(platform);
    fireEvent.press(await screen.findByRole('button', { name: 'Sign in' }));
    expect(await screen.findByText('Enter your email and password.')).toBeOnTheScreen();
    expect(platform.operations).toHaveLength(0);
  });
});

describe('my projects', () => {
  it('shows a loading state, then the projects with the person’s role', async () => {
    const ann = platform.addUser('Ann Member');
    const olga = platform.addUser('Olga Owner');
    platform.addProject('Checkout', olga, [[ann, 'EDITOR']]);
    platform.addProject('Not mine', olga);
    renderApp(platform);
    platform.hold('Projects');
    await signInAs(ann);
    expect(screen.getByLabelText('Loading projects')).toBeOnTheScreen();
    await act(async () => platform.release('Projects'));
    const item = await screen.findByRole('button', { name: 'Checkout' });
    expect(within(item).getByText('Editor')).toBeOnTheScreen();
    expect(screen.queryByRole('button', { name: 'Not mine' })).toBeNull();
    expect(screen.getByText('1 project')).toBeOnTheScreen();
  });

  it('says when there is nothing, and when a search matches nothing', async () => {
    const ann = platform.addUser('Ann Member');
    renderApp(platform);
    await signInAs(ann);
    expect(await screen.findByText('You are not a member of any project yet. Ask an owner to add you.')).toBeOnTheScreen();
    fireEvent.changeText(screen.getByLabelText('Search projects'), 'zebra');
    expect(await screen.findByText('No project matches “zebra”.')).toBeOnTheScreen();
    expect(platform.operations.filter((o) => o.name === 'Projects').at(-1)?.variables.filter).toEqual({ search: 'zebra' });
  });

  it('searches on the server', async () => {
    const ann = platform.addUser('Ann Member');
    platform.addProject('Checkout', ann);
    platform.addProject('Search ranking', ann);
    renderApp(platform);
    await signInAs(ann);
    expect(await screen.findByRole('button', { name: 'Checkout' })).toBeOnTheScreen();
    fireEvent.changeText(screen.getByLabelText('Search projects'), 'rank');
    expect(await screen.findByText('1 project')).toBeOnTheScreen();
    expect(screen.getByRole('button', { name: 'Search ranking' })).toBeOnTheScreen();
    expect(screen.queryByRole('button', { name: 'Checkout' })).toBeNull();
  });

  it('shows a server error with Retry, and the list once the server answers', async () => {
    const ann = platform.addUser('Ann Member');
    platform.addProject('Checkout', ann);
    renderApp(platform);
    // Failing every time until the server recovers (the app also fetches again on its own when
    // the live connection starts).
    platform.fail('Projects', { kind: 'http', status: 503 }, 100);
    await signInAs(ann);
    expect(await screen.findByText(/The service is unavailable right now/)).toBeOnTheScreen();
    platform.recover('Projects');
    fireEvent.press(screen.getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('button', { name: 'Checkout' })).toBeOnTheScreen();
    expect(screen.queryByText(/The service is unavailable/)).toBeNull();
  });

  it('pull to refresh fetches again and shows what changed', async () => {
    const ann = platform.addUser('Ann Member');
    platform.addProject('Checkout', ann);
    const { UNSAFE_root } = renderApp(platform);
    await signInAs(ann);
    await screen.findByRole('button', { name: 'Checkout' });
    platform.addProject('Billing', ann);
    const { RefreshControl } = jest.requireActual<typeof import('react-native')>('react-native');
    const control = UNSAFE_root.findAllByType(RefreshControl).at(-1)!;
    await act(async () => control.props.onRefresh());
    expect(await screen.findByRole('button', { name: 'Billing' })).toBeOnTheScreen();
  });

  it('offline: keeps the loaded list readable under an offline banner, and says what was never loaded', async () => {
    const ann = platform.addUser('Ann Member');
    platform.addProject('Checkout', ann);
    renderApp(platform);
    await signInAs(ann);
    await screen.findByRole('button', { name: 'Checkout' });
    act(() => setOnline(false));
    expect(screen.getByText('Offline — showing what was last loaded. Changes cannot be saved until you are back online.')).toBeOnTheScreen();
    // A refresh while offline fails (no network): the list stays, without a second warning.
    platform.fail('Projects', { kind: 'network' }, 100);
    fireEvent.changeText(screen.getByLabelText('Search projects'), 'bill');
    expect(await screen.findByText('You are offline, and your projects had not been loaded yet.')).toBeOnTheScreen();
    fireEvent.changeText(screen.getByLabelText('Search projects'), '');
    expect(await screen.findByRole('button', { name: 'Checkout' })).toBeOnTheScreen();
    await settle();
    expect(platform.operations.filter((o) => o.name === 'Projects').at(-1)?.variables.filter).toEqual({});
    expect(screen.getByRole('button', { name: 'Checkout' })).toBeOnTheScreen();
    expect(screen.queryByText(/Could not refresh/)).toBeNull();
  });
});
