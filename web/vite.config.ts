import { defineConfig } from "vite";

// `npm run dev` serves the UI with hot reload and forwards /api to the dev server. JSX compiles to
// Preact through esbuild (no Babel); every page is its own chunk, loaded when first visited.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  server: { proxy: { "/api": `http://127.0.0.1:${process.env.KEEL_PORT ?? "3000"}` } },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 600 },
});
