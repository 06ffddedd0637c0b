// Build of the trader's web app into frontend/dist, served by the `frontend` Serve application.
// Everything (Lightweight Charts, Tailwind, DaisyUI) is bundled: the app needs no CDN.
import tailwindcss from "@tailwindcss/vite";
import { defineConfig } from "vite";

// The entry keeps a stable name (app.js, revalidated on every load); everything it imports is
// content-hashed under assets/. URLs are relative, so the page also works under a sub-path.
const relativeEntry = {
  name: "relative-entry",
  enforce: "post",
  transformIndexHtml: (html) => html.replaceAll('"./app.js"', '"app.js"'),
};

export default defineConfig({
  base: "./",
  plugins: [tailwindcss(), relativeEntry],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 800,
    rollupOptions: {
      output: {
        entryFileNames: "app.js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  server: {
    // `npm run dev` against a running `make run`.
    proxy: Object.fromEntries(
      ["/utils", "/historical", "/strategies", "/backtest", "/optimize", "/data", "/health"].map(
        (path) => [path, "http://127.0.0.1:8000"],
      ),
    ),
  },
});
