// Vite's build of the dashboard: web/index.html and web/src/ into dist/ (or the folder given
// with --outDir, as the CMake target does), content-hashed bundles under assets/.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
});
