// Builds the studio into the directory `skillrt serve --studio` serves (default
// <build>/studio): hashed assets, no inline script (the Content-Security-Policy forbids it),
// no source maps, nothing loaded from another host.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/studio/',
  build: {
    outDir: process.env.STUDIO_OUT_DIR || 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
