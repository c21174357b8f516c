import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { loadConfig } from './config.ts';
import { createServices } from './services.ts';

const container = document.getElementById('root');
if (!container) throw new Error('no #root element');
const root = createRoot(container);

loadConfig()
  .then(async (config) => {
    const services = createServices(config);
    await services.session.load();
    root.render(<App services={services} />);
  })
  .catch((e: unknown) => {
    root.render(
      <div role="alert" style={{ fontFamily: 'system-ui, sans-serif', padding: 24 }}>
        <h1>Platform SM cannot start</h1>
        <p>{e instanceof Error ? e.message : String(e)}</p>
      </div>,
    );
  });
