import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

// Relative asset URLs: the server rewrites them to its base path (DAGU_BASE_PATH) when it
// serves index.html, so one build works under any prefix.
export default defineConfig({
  base: './',
  plugins: [react()],
  // Workspace packages from source (as in the tests), next to Vite's own conditions.
  resolve: { conditions: ['@dagu-ts/source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 600 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});
