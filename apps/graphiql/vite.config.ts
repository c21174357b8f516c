import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// graphql-edge serves this build itself (GRAPHIQL_DIR): index.html as the answer to a browser's
// GET /graphql, everything else under /graphiql/. The page is not at its assets' folder, so their
// URLs are absolute under that prefix (base), and the editor's web workers are built in too: the
// page needs nothing from any other host.
export default defineConfig({
  base: '/graphiql/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    sourcemap: false,
    // The editor (Monaco) is one large chunk by nature; this is a developer tool, not the app.
    chunkSizeWarningLimit: 3000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // GraphiQL's modules start with React-compiler directives ("use no memo") that a bundle
        // cannot keep; they only steer that compiler, so the warning says nothing about this build.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
