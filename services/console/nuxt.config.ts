// Floe console: a static single-page app (`nuxt generate`) that `floe serve`
// serves at /console/ from its binary, talking to the same origin over Connect.
import { fileURLToPath } from "node:url";

const sdk = fileURLToPath(new URL("../../sdk/ts/src", import.meta.url));
const floeUrl = process.env.FLOE_URL || "http://127.0.0.1:8080";

// Icons are bundled into the client from @iconify-json/lucide: the static site
// must neither fetch icons from a CDN nor call a Nitro icon endpoint that the Go
// server does not have. Nuxt UI's own icons are listed so that its components
// (select chevrons, alert icons, spinners) render offline too.
const icons = [
  "arrow-down", "arrow-left", "arrow-right", "arrow-up", "arrow-up-right", "check", "chevron-down",
  "chevron-left", "chevron-right", "chevron-up", "chevrons-left", "chevrons-right", "circle-alert",
  "circle-check", "circle-x", "copy", "copy-check", "ellipsis", "eye", "eye-off", "hash", "info",
  "lightbulb", "loader-circle", "menu", "minus", "monitor", "moon", "plus", "rotate-ccw", "search",
  "square", "sun", "pause", "play", "triangle-alert", "x",
  // The console's own.
  "activity", "clock", "database", "git-compare", "history", "layers", "network", "refresh-cw",
  "server-crash", "shield-alert", "table-2", "user-search", "wifi-off", "help-circle", "circle-help",
].map((name) => `lucide:${name}`);

const devProxy = Object.fromEntries(
  ["ServingService", "RegistryService", "AdminService"].map((s) => [
    `/floe.v1.${s}`,
    { target: `${floeUrl}/floe.v1.${s}`, changeOrigin: true },
  ]),
);

export default defineNuxtConfig({
  compatibilityDate: "2026-11-01",
  ssr: false,
  modules: ["@nuxt/ui"],
  css: ["~/assets/css/main.css"],
  devtools: { enabled: false },
  // The built files are committed: keep them identical from build to build (no
  // random build id, no app manifest polling) and fetch no payloads (SPA only).
  buildId: "floe-console",
  experimental: { appManifest: false, payloadExtraction: false },
  // Nuxt 4.4's dev server cannot start an ssr: false app without the Vite
  // environment API (its vite-node socket is never configured otherwise).
  $development: { experimental: { viteEnvironmentApi: true } },
  telemetry: false,
  app: {
    baseURL: "/console/",
    head: {
      title: "Floe console",
      htmlAttrs: { lang: "en" },
      meta: [{ name: "description", content: "Floe operations console" }],
      // An icon of our own, so the browser does not ask the server for /favicon.ico.
      link: [{ rel: "icon", type: "image/svg+xml", href: "/console/favicon.svg" }],
    },
  },
  // No web fonts: the console must build and run with no network.
  ui: { fonts: false },
  icon: {
    provider: "none",
    serverBundle: false,
    fallbackToApi: false,
    clientBundle: { icons, scan: true },
  },
  colorMode: { preference: "light" },
  // @floe/client is the repository's TypeScript SDK, compiled from source; its
  // runtime dependencies resolve from this package so there is one copy of each.
  alias: { "@floe/client": `${sdk}/index.ts` },
  vite: {
    resolve: { dedupe: ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-web"] },
    server: { fs: { allow: [sdk] } },
  },
  typescript: {
    tsConfig: { compilerOptions: { paths: { "@floe/client": [`${sdk}/index.ts`] } } },
  },
  nitro: {
    // One SPA shell is enough: the Go handler answers every client route with it.
    prerender: { crawlLinks: false, routes: ["/"] },
    // `nuxt dev` forwards the API to a running Floe (make console-dev). Nuxt's
    // nitro config type does not list devProxy, hence the spread.
    ...({ devProxy } as object),
  },
});
