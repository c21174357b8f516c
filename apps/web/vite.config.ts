import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// base './': every asset URL is relative, so the same build is served from any path (graphql-edge's
// `/`, a CDN folder). API addresses come from config.json at run time (src/config.ts), never from
// the build.
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 1000 },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
