// Vite: builds the SPA into dist/ (served by `berth serve` at `/`).
// `npm run dev` proxies /api to a running panel: BERTH_DEV_API (default
// http://127.0.0.1:8420, the default `berth serve --listen`).
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const api = process.env.BERTH_DEV_API ?? 'http://127.0.0.1:8420';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // One small app: keep it to a few files, no remote anything.
    assetsInlineLimit: 4096,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
    },
  },
});
