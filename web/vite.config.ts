import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { defineConfig } from 'vitest/config'

// The build lands inside the Python package, which serves it (src/feige/web); the dev server
// forwards the API and the socket to a `feige serve` on port 8000.
export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components and their CSS are imported where a template uses them, so each
    // face's chunk carries only its own components. Only Element Plus is resolved (the app's
    // own components are imported by hand) and no declaration file is generated: their types
    // come from element-plus/global, so the two faces never edit a shared generated file.
    Components({
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
      dirs: [],
      dts: false,
    }),
  ],
  define: {
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  build: {
    outDir: fileURLToPath(new URL('../src/feige/web/static', import.meta.url)),
    emptyOutDir: true,
    // Which chunks each face loads first: the bench of the JS budget reads it.
    manifest: true,
    assetsDir: 'assets',
    target: 'es2022',
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8000',
      '/ws': { target: 'ws://127.0.0.1:8000', ws: true },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
})
