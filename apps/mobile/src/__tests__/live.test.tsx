// The realtime connection follows the app's life: closed in the background, opened again in the
// foreground with every channel resumed from `after` = the last seq it delivered, so what
// happened meanwhile is replayed — nothing missed, nothing twice.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { act, fireEvent, screen } from '@testing-library/react-native';
import { installAppState, moveApp } from '../test/appState';
import { FakePlatform, type FakeUser } from '../test/fakePlatform';
import { expectText, renderApp, settle, signInAs, stopApps } from '../test/renderApp';

let platform: FakePlatform;
let olga: FakeUser;
let eddie: FakeUser;
let project: ReturnType<FakePlatform['addProject']>;

beforeEach(() => {
  installAppState();
  platform = new FakePlatform();
  olga = platform.addUser('Olga Owner');
  eddie = platform.addUser('Eddie Editor');
  project = platform.addProject('Checkout', olga, [[eddie, 'EDITOR']]);
  platform.setConfig(project, 'limit', 1, olga);
});
afterEach(stopApps);

async function openCheckout() {
  const app = renderApp(platform);
  await signInAs(eddie);
  fireEvent.press(await screen.findByRole('button', { name: 'Checkout' }));
  await expectText('Value of limit', '1');
  await settle();
  return app;
}

describe('background and foreground', () => {
  it('closes the connection in the background and resumes every channel with the right after', async () => {
    const { services } = await openCheckout();
    const [first] = platform.openSockets;
    expect(platform.openSockets).toHaveLength(1);
    const userChannel = `user:${eddie.id}`;
    const projectChannel = `project:${project.id}`;
    expect(first!.subscribes.map((s) => s.channel).sort()).toEqual([projectChannel, userChannel].sort());

    act(() => void platform.setConfig(project, 'limit', 2, olga));
    await expectText('Value of limit', '2');
    const lastSeen = platform.log.at(-1)!.seq;
    const userCursor = services.realtime.cursor(userChannel);
    expect(services.realtime.cursor(projectChannel)).toBe(lastSeen);

    moveApp('background');
    await settle();
    expect(platform.openSockets).toHaveLength(0);
    expect(first!.readyState).toBe(3);

    // Meanwhile, on the server: two changes the phone does not hear about.
    platform.setConfig(project, 'limit', 3, olga);
    platform.setConfig(project, 'banner', 'hello', olga);
    await settle();
    expect(screen.getByLabelText('Value of limit')).toHaveTextContent('2');

    moveApp('active');
    await settle();
    expect(platform.openSockets).toHaveLength(1);
    const second = platform.openSockets[0]!;
    expect(second).not.toBe(first);
    expect(second.subscribes).toEqual(
      expect.arrayContaining([
        { channel: projectChannel, after: lastSeen },
        { channel: userChannel, after: userCursor },
      ]),
    );
    expect(second.subscribes).toHaveLength(2);
    // The replay brings both changes, once each.
    await expectText('Value of limit', '3');
    await expectText('Value of banner', '"hello"');
    expect(services.realtime.stats.duplicatesDropped).toBe(0);
    expect(services.realtime.cursor(projectChannel)).toBe(platform.log.at(-1)!.seq);
  });

  it('stays connected while the app is only inactive (a call, the app switcher)', async () => {
    await openCheckout();
    const [socket] = platform.openSockets;
    moveApp('inactive');
    await settle();
    expect(platform.openSockets).toEqual([socket]);
    act(() => void platform.setConfig(project, 'limit', 4, olga));
    await expectText('Value of limit', '4');
  });

  it('a dropped connection reconnects and resumes from the same cursor', async () => {
    const { services } = await openCheckout();
    const [first] = platform.openSockets;
    const projectChannel = `project:${project.id}`;
    const before = services.realtime.cursor(projectChannel);
    act(() => first!.drop());
    platform.setConfig(project, 'limit', 6, olga);
    // The client waits a backoff step (at most 500 ms for the first) before reconnecting.
    await expectText('Value of limit', '6');
    const second = platform.openSockets[0]!;
    expect(second.subscribes).toContainEqual({ channel: projectChannel, after: before });
  });
});
