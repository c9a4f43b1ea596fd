import { defineConfig } from 'vite';

// The web UI: a single-page app built into dist/web, which the Nest server serves at `/`
// (src/web-ui.ts). JSX is compiled by Vite itself (no React plugin: no fast refresh in dev).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    manifest: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      // Radix marks its modules "use client" (for React Server Components): nothing to keep here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: {
    // `npx vite web` during development: the API and registry of a server on :8080.
    proxy: { '/api': 'http://127.0.0.1:8080', '/v2': 'http://127.0.0.1:8080' },
  },
});
