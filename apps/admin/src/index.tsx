import { createRoot } from 'react-dom/client';
import { App } from './App';
import { loadConfig } from './config';
import { SESSION_KEY, SessionStore } from './session';

const container = document.getElementById('root');
if (!container) throw new Error('no #root element');
const root = createRoot(container);

loadConfig()
  .then((config) => {
    const session = new SessionStore({
      apiUrl: config.apiUrl,
      storage: window.localStorage,
      fetch: window.fetch.bind(window),
      locks: navigator.locks
        ? { request: <T,>(name: string, cb: () => Promise<T>) => navigator.locks.request(name, cb) as Promise<T> }
        : undefined,
    });
    // Another tab signed in, out, or rotated the tokens.
    window.addEventListener('storage', (e) => {
      if (e.key === null || e.key === SESSION_KEY) session.externalChange();
    });
    session.start();
    // Signed out: open on the login page, remembering the page asked for (React Admin's Login
    // goes there after sign-in). Starting on a protected page instead makes react-admin bounce
    // between it and the login page for seconds (its logout/permissions race, issue #10764).
    if (!session.get()) {
      const wanted = window.location.hash.replace(/^#/, '') || '/';
      if (!wanted.startsWith('/login')) {
        const [nextPathname, nextSearch = ''] = wanted.split('?');
        window.history.replaceState(
          { usr: { nextPathname, nextSearch: nextSearch ? `?${nextSearch}` : '' }, key: 'default', idx: 0 },
          '',
          '#/login',
        );
      }
    }
    root.render(<App config={config} session={session} />);
  })
  .catch((e: unknown) => {
    root.render(
      <div role="alert" style={{ fontFamily: 'sans-serif', padding: 24 }}>
        <h1>The admin panel cannot start</h1>
        <p>{e instanceof Error ? e.message : String(e)}</p>
      </div>,
    );
  });
