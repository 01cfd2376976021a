// The console bundle: web/ → dist/console, served by `sluice serve` under /console (src/server/console).
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    // One small app: no source maps shipped, no size warnings for the single chunk.
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
  server: { proxy: { '/console/api': 'http://127.0.0.1:7000', '/console/auth': 'http://127.0.0.1:7000' } },
});
