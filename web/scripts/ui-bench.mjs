// UI weight and speed, appended to bench/results.md by `make bench`: the build's JS + CSS gzip
// total, what the first page transfers, and navigation → leads table with 25 rows (median of 5)
// in headless Chromium against the dev server on the local stack.
import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { mailedToken } from "../e2e/mailbox.mjs";

const BASE = process.env.KEEL_URL;
const OUT = process.argv[2];
const DIST = new URL("../dist/assets/", import.meta.url).pathname;
const PASSWORD = "Correct-Horse-7";

async function call(path, body, token) {
  const r = await fetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return r.json();
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const gz = (file) => gzipSync(readFileSync(file), { level: 9 }).length;

// (1) Weight of the whole build.
const assets = readdirSync(DIST).filter((f) => /\.(js|css)$/.test(f));
const total = assets.reduce((n, f) => n + gz(DIST + f), 0);
const raw = assets.reduce((n, f) => n + statSync(DIST + f).size, 0);

// A company with 25 leads.
const email = `bench.${Date.now()}@bench.example`;
await call("/api/auth/register", { company_name: "Bench Co", full_name: "Bench Admin", email, password: PASSWORD });
const session = await call("/api/auth/verify-email", { token: await mailedToken(email, "verify-email"), password: PASSWORD });
for (let n = 0; n < 25; n++) {
  await call(`/api/companies/${session.company_id}/leads`, {
    first_name: `Lead${n}`, last_name: "Bench", email: `lead${n}.${Date.now()}@bench.example`,
    source: "Web", campaign: "Bench", medium: "Organic",
  }, session.access_token);
}
const stored = JSON.stringify({
  token: session.access_token, refreshToken: session.refresh_token, expiresAt: Date.now() + 800_000,
  companyId: session.company_id, userId: session.user_id, role: "admin", email,
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const times = [];
let firstPage = 0;
for (let run = 0; run < 5; run++) {
  // A fresh context each time: a cold cache, as on a first visit.
  const context = await browser.newContext();
  await context.addInitScript((s) => sessionStorage.setItem("keel.session", s), stored);
  const page = await context.newPage();
  let transferred = 0;
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.loadingFinished", (e) => (transferred += e.encodedDataLength));
  const started = performance.now();
  await page.goto(`${BASE}/leads`);
  await page.waitForFunction(() => document.querySelectorAll("#leads-table tbody tr[data-lead-id]").length === 25);
  times.push(performance.now() - started);
  if (run === 0) firstPage = transferred;
  await context.close();
}
await browser.close();
times.sort((a, b) => a - b);

appendFileSync(
  OUT,
  `
## (h) Web UI weight and first render

Setup: the production build (\`npm run build\`: Preact, code-split per page, Bootstrap CSS) served by the dev server
(precompressed, as CloudFront serves it) on the local stack; headless Chromium, a fresh browser context per run
(cold cache), signed in; the leads page of a company with 25 leads.

| measure | value | target |
|---|---|---|
| all JS + CSS of the build, gzip | **${kb(total)}** (${kb(raw)} raw, ${assets.length} files) | ≤ 250 KB |
| first page (/leads): bytes transferred, everything included | **${kb(firstPage)}** | ≤ 120 KB |
| navigation → leads table with 25 rows, median of 5 | **${times[2].toFixed(0)} ms** (min ${times[0].toFixed(0)}, max ${times[4].toFixed(0)}) | — |
`,
);
console.log(`ui bench: ${kb(total)} total gzip, first page ${kb(firstPage)}, median ${times[2].toFixed(0)} ms`);
