// Renders the app as Root does, on a FakePlatform: the same services (Session, urql client,
// RealtimeClient) with the fake's fetch and WebSocket, and a memory storage.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react-native';
import { expect } from '@jest/globals';
import { memoryStorage } from '@platform-sm/client';
import { App } from '../App';
import { NoticeProvider } from '../components/Notices';
import { NetworkProvider } from '../network';
import { createServices, type Services } from '../services';
import type { FakePlatform, FakeUser } from './fakePlatform';

export const ENDPOINTS = { graphqlUrl: 'https://api.example.test/graphql', realtimeUrl: 'wss://rt.example.test/ws' };

const mounted: Services[] = [];

export function renderApp(platform: FakePlatform, opts: { storage?: ReturnType<typeof memoryStorage> } = {}) {
  const storage = opts.storage ?? memoryStorage();
  const services = createServices(ENDPOINTS, { storage, fetch: platform.fetch, WebSocket: platform.WebSocket });
  mounted.push(services);
  const result = render(
    <NetworkProvider>
      <NoticeProvider>
        <App services={services} renderSettings={() => null} />
      </NoticeProvider>
    </NetworkProvider>,
  );
  return { ...result, services, storage };
}

/** Stops what the rendered apps left running (session timer, realtime connection). */
export function stopApps(): void {
  for (const s of mounted.splice(0)) {
    s.realtime.stop();
    s.session.dispose();
  }
}

/** Signs in through the sign-in screen and waits for the projects list. */
export async function signInAs(user: FakeUser): Promise<void> {
  fireEvent.changeText(await screen.findByLabelText('Email'), user.email);
  fireEvent.changeText(screen.getByLabelText('Password'), user.password);
  fireEvent.press(screen.getByRole('button', { name: 'Sign in' }));
  await screen.findByRole('heading', { name: /projects$/ });
}

/** Lets queued promises and micro-tasks (fake sockets, fetch answers) run. */
export async function settle(): Promise<void> {
  await act(async () => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  });
}

/** Waits until the element labelled `label` shows `text` (it may be on screen already, with an older value). */
export async function expectText(label: string, text: string, options?: { exact?: boolean; normalizeWhitespace?: boolean }): Promise<void> {
  await waitFor(() => expect(screen.getByLabelText(label)).toHaveTextContent(text, options));
}
