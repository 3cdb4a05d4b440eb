// Browser test: a new company's administrator signs up (confirming the email through the link the
// local SES received), captures a lead (first with a mistake the server catches), reads it,
// qualifies and converts it into an account, sees the dashboard count it, invites a viewer, and
// changes the password; the viewer then accepts the invitation and finds what a viewer may see and
// do. Every page is checked with axe (no serious or critical violations) and photographed in light
// and dark mode into web/test-results/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { mailedToken } from "./mailbox.mjs";

const BASE = process.env.KEEL_URL ?? "http://127.0.0.1:3000";
const OUT = new URL("../test-results/", import.meta.url).pathname;
// Evaluated through the DevTools protocol, which the page's CSP does not govern (a <script> would be refused).
const AXE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(OUT, { recursive: true });

/** The latest `page` link the app mailed to `email`, as the local SES (moto) keeps it. */
async function mailedLink(email, page) {
  const token = await mailedToken(email, page);
  assert.ok(token, `no ${page} link was mailed to ${email}`);
  return `${BASE}/${page}#token=${token}`;
}

/** Checks the page with axe and photographs it in light and dark mode. */
async function review(page, name) {
  // Nothing wider than the window (a page that scrolls sideways, a menu that runs off).
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `${name} is ${overflow} px wider than the window`);
  await page.evaluate(AXE);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    [],
    `${name}: accessibility violations`,
  );
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForFunction((s) => document.documentElement.getAttribute("data-bs-theme") === s, scheme);
    await page.screenshot({ path: `${OUT}${name}-${scheme}.png`, fullPage: true });
  }
  await page.emulateMedia({ colorScheme: "light" });
}

test("the UI is served as the deployed hosting serves it", async () => {
  const index = await fetch(`${BASE}/leads`, { headers: { "accept-encoding": "br, gzip" } });
  assert.equal(index.status, 200);
  assert.equal(index.headers.get("content-encoding"), "br");
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const csp = index.headers.get("content-security-policy") ?? "";
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.equal(index.headers.get("x-content-type-options"), "nosniff");
  assert.ok(index.headers.get("referrer-policy"));
  const asset = (await index.text()).match(/\/assets\/index-[^"]+\.js/)[0];
  const js = await fetch(`${BASE}${asset}`, { headers: { "accept-encoding": "gzip" } });
  assert.equal(js.headers.get("content-encoding"), "gzip");
  assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.equal((await fetch(`${BASE}/assets/gone-0000.js`)).status, 404, "a missing file is not the app");
});

const fill = async (page, values) => {
  for (const [k, v] of Object.entries(values)) await page.fill(`[name=${k}]`, v);
};

test("a company's administrator and viewer walk every page", async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const cspViolations = [];
    const watch = (page) =>
      page.on("console", (m) => /Content Security Policy/.test(m.text()) && cspViolations.push(m.text()));
    // Reduced motion: a button's hover fade would otherwise race axe's colour-contrast check.
    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 860 }, reducedMotion: "reduce" })).newPage();
    watch(admin);
    const email = `ana.${Date.now()}@acme.example`;

    // Signed out: sign in, sign up (a weak password is named), check your email, the link.
    await admin.goto(`${BASE}/leads`);
    await admin.waitForSelector("#auth-form");
    await review(admin, "signin");
    await admin.click("#to-forgot");
    await admin.waitForSelector("#auth-submit:has-text('Email me a link')");
    await review(admin, "forgot-password");
    await admin.goto(`${BASE}/register`);
    await admin.waitForSelector("[name=company_name]");
    await fill(admin, { company_name: "Acme Ltd", full_name: "Ana Silva", email, password: "tooweak" });
    await admin.click("#auth-submit");
    await admin.waitForSelector("#password.is-invalid");
    assert.match(await admin.textContent('[data-error-for="password"]'), /at least 10/);
    assert.equal(await admin.inputValue("[name=company_name]"), "Acme Ltd", "the input is kept");
    await review(admin, "register-errors");
    await admin.fill("[name=password]", "Correct-Horse-7");
    await admin.click("#auth-submit");
    await admin.waitForSelector("#check-email");
    assert.ok((await admin.textContent("#check-email")).includes(email));
    await review(admin, "check-email");
    await admin.goto(await mailedLink(email, "verify-email"));
    await admin.waitForSelector("#verify-form");
    await review(admin, "verify-email");
    await admin.fill("[name=password]", "Correct-Horse-7");
    await admin.keyboard.press("Enter");
    await admin.waitForSelector("#leads-table tr[data-empty]");
    assert.ok((await admin.textContent("#user-menu")).includes(email));

    // Capture a lead: the server names the mistake, the input stays, then it is saved.
    await admin.click("#new-lead");
    await admin.waitForSelector("#lead-form");
    await fill(admin, { first_name: "Ana", last_name: "Silva", company_name: "Acme Ltd", email: "ana.silva@acme",
      phone: "+1 415 555 0123", job_title: "Head of Sales", source: "Partner referral", campaign: "CRM-Q4-2025",
      medium: "Email", budget: "50k USD", need: "Pipeline visibility" });
    await admin.click("#save");
    await admin.waitForSelector("#email.is-invalid");
    assert.match(await admin.textContent('[data-error-for="email"]'), /email address/);
    assert.equal(await admin.inputValue("[name=first_name]"), "Ana");
    await review(admin, "lead-new-errors");
    await admin.fill("[name=email]", "ana.silva@acme.example");
    await admin.click("#save");
    await admin.waitForSelector("#record");
    // Score: email 10 + phone 10 + two BANT answers 30 + company 5 + title 5 + referral 5.
    assert.equal(await admin.textContent("#record header .score-badge"), "65");
    assert.match(await admin.textContent("#record header"), /Ana Silva/, "the owner is named, not an id");
    await review(admin, "lead-record");
    await admin.click("#edit-lead");
    await admin.waitForSelector("#lead-form");
    await review(admin, "lead-edit");
    await admin.click('a.nav-link[href="/leads"]');
    await admin.waitForSelector("#leads-table tbody tr[data-lead-id]");
    const row = await admin.textContent("#leads-table tbody tr[data-lead-id]");
    for (const text of ["Ana Silva", "Acme Ltd", "Partner referral"]) assert.ok(row.includes(text), text);
    await review(admin, "leads");
    // On a phone the navigation folds into a menu.
    await admin.setViewportSize({ width: 390, height: 844 });
    await admin.click(".navbar-toggler");
    await admin.waitForSelector("#nav-links.show");
    await admin.screenshot({ path: `${OUT}leads-phone-menu.png`, fullPage: true });
    await admin.click(".navbar-toggler");
    await admin.screenshot({ path: `${OUT}leads-phone.png`, fullPage: true });
    await admin.setViewportSize({ width: 1280, height: 860 });
    // Filters live in the URL: back and forward restore them.
    await admin.selectOption("#f-status", "qualified");
    await admin.waitForSelector("#leads-table tr[data-empty]");
    assert.match(admin.url(), /status=qualified/);
    await admin.goBack();
    await admin.waitForSelector("#leads-table tbody tr[data-lead-id]");

    // Qualify the lead with BANT (20/20/20/15 = 75 of the 70 needed), then convert it: the new
    // account's page shows the contact and the opportunity the lead became.
    await admin.click("#leads-table tbody tr[data-lead-id] a");
    await admin.waitForSelector("#qualify-form");
    for (const [item, score] of [["budget", "20"], ["authority", "20"], ["need", "20"], ["timeline", "15"]]) {
      await admin.fill(`#bant-${item}`, score);
    }
    await admin.fill("#evidence-budget", "50k USD approved for Q1");
    assert.match(await admin.textContent("#panel-bant [data-score]"), /^75$/, "the running total");
    await admin.click("#qualify-submit");
    await admin.waitForSelector("#qualify-outcome");
    assert.match(await admin.textContent("#qualify-outcome"), /Qualified · score 75/);
    await admin.waitForFunction(() => document.querySelector("#eligible")?.textContent === "Ready to convert.");
    assert.equal(await admin.locator('#eligibility-list [data-met="false"]').count(), 0, "every condition is met");
    assert.match(await admin.textContent("#qualification-history"), /Assessed: qualified score 75/);
    await review(admin, "lead-qualified");
    await admin.click("#convert");
    await admin.waitForSelector("#convert-form");
    assert.equal(await admin.inputValue("#convert-account-name"), "Acme Ltd", "a new account, named after the lead's company");
    await admin.fill("#convert-amount", "50000");
    await admin.check("#convert-role-decision_maker");
    await review(admin, "lead-convert");
    await admin.click("#convert-submit");
    await admin.waitForURL(/\/accounts\/[^/]+$/);
    const accountPath = new URL(admin.url()).pathname;
    await admin.waitForSelector("#contact-list");
    assert.match(await admin.textContent("#record h1"), /Acme Ltd/);
    assert.match(await admin.textContent("#contact-list"), /Ana Silva/);
    assert.match(await admin.textContent("#contact-list"), /decision maker/);
    const deal = await admin.textContent("#opportunity-table tbody");
    assert.match(deal, /Acme Ltd – new business/);
    assert.match(deal, /50,000\.00/);
    await review(admin, "account-record");
    await admin.click('a.nav-link[href="/accounts"]');
    await admin.waitForSelector("#accounts-table tbody tr[data-account-id] [data-health]");
    await review(admin, "accounts");
    await admin.click('a.nav-link[href="/contacts"]');
    await admin.waitForSelector("#contacts-table tbody tr[data-contact-id] a[data-account-id]");
    assert.match(await admin.textContent("#contacts-table tbody"), /Acme Ltd/, "the account by name");
    await review(admin, "contacts");
    await admin.click("#contacts-table tbody tr[data-contact-id] a");
    await admin.waitForSelector("#record #edit-contact");
    await review(admin, "contact-record");

    // Deals: the converted opportunity is on the board; dragged to closed won, the forecast counts
    // its amount as closed and its account becomes a customer.
    await admin.click('a.nav-link[href="/deals"]');
    await admin.waitForSelector("#deals-table tbody tr[data-deal-id]");
    await review(admin, "deals");
    await admin.click("#view-board");
    const card = '#board [data-stage="qualification"] [data-deal-id]';
    await admin.waitForSelector(card);
    await review(admin, "deals-board");
    // The drag as the browser delivers it (the won column lies beyond the board's scroll).
    const transfer = await admin.evaluateHandle(() => new DataTransfer());
    await admin.dispatchEvent(card, "dragstart", { dataTransfer: transfer });
    await admin.dispatchEvent('#board [data-stage="closed_won"]', "dragover", { dataTransfer: transfer });
    await admin.dispatchEvent('#board [data-stage="closed_won"]', "drop", { dataTransfer: transfer });
    await admin.waitForSelector('#board [data-stage="closed_won"] [data-deal-id]');
    assert.equal(await admin.locator(card).count(), 0, "the card left its column");
    await admin.click("#view-forecast");
    await admin.waitForFunction(() => document.querySelector('[data-category="closed"] [data-amount]')?.getAttribute("data-amount") === "5000000", null, { timeout: 30000 });
    await admin.waitForSelector('#what-moved tr[data-kind="won"]', { timeout: 30000 });
    await review(admin, "deals-forecast");
    await admin.click("#view-trends");
    await admin.waitForSelector("#trend-won");
    await review(admin, "deals-trends");
    await admin.click("#view-table");
    await admin.click("#deals-table tbody tr[data-deal-id] a");
    await admin.waitForSelector("#stage-history");
    assert.match(await admin.textContent("#stage-history"), /closed won/);
    // A call logged on the deal shows on its timeline, and on its account's.
    await admin.click("#log-call-open");
    await admin.fill("#call-subject", "Budget call with Ana");
    await admin.fill("#call-outcome", "Connected");
    await admin.fill("#call-duration", "25");
    await admin.click("#save-call");
    await admin.waitForFunction(() => document.querySelector("#activity-timeline")?.textContent?.includes("Budget call with Ana"));
    await review(admin, "deal-record");
    // The account's lifecycle follows DealWon through the bus: read its page until it has arrived.
    for (let i = 0; ; i++) {
      await admin.goto(`${BASE}${accountPath}`);
      await admin.waitForSelector("#record [data-lifecycle]");
      if ((await admin.getAttribute("#record [data-lifecycle]", "data-lifecycle")) === "customer") break;
      assert.ok(i < 30, "the won deal never made its account a customer");
      await admin.waitForTimeout(1000);
    }
    await admin.waitForFunction(() => document.querySelector("#activity-timeline")?.textContent?.includes("Budget call with Ana"));
    assert.match(await admin.textContent("#activity-timeline"), /converted/, "the conversion, on the account too");
    await admin.click('a.nav-link[href="/activities"]');
    await admin.waitForFunction(() => document.querySelector("#activities-table tbody")?.textContent?.includes("Budget call with Ana"));
    await review(admin, "activities");

    // A task left two days overdue is escalated by the scheduler (every few seconds locally; the
    // company's delay is a day): it shows on the Overdue tab, raised in priority.
    await admin.click('a.nav-link[href="/tasks"]');
    await admin.waitForSelector("#my-tasks tr[data-empty]");
    await admin.click("#new-task");
    await admin.waitForSelector("#task-form");
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000 - 60_000);
    const localTime = new Date(twoDaysAgo.getTime() - twoDaysAgo.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await admin.fill("[name=title]", "Send the renewal quote");
    await admin.fill("[name=due_at]", localTime);
    await admin.selectOption("#task-priority", "low");
    await review(admin, "task-new");
    await admin.click("#save-task");
    await admin.waitForSelector('#my-tasks tr[data-task="Send the renewal quote"]');
    for (let i = 0; ; i++) {
      await admin.goto(`${BASE}/tasks?view=overdue`);
      await admin.waitForSelector('#overdue-tasks tr[data-task="Send the renewal quote"]');
      if (await admin.locator('#overdue-tasks tr[data-task="Send the renewal quote"] [data-escalation]').count()) break;
      assert.ok(i < 30, "the overdue task was never escalated");
      await admin.waitForTimeout(1000);
    }
    assert.match(await admin.textContent('#overdue-tasks tr[data-task="Send the renewal quote"]'), /overdue/);
    assert.doesNotMatch(await admin.textContent('#overdue-tasks tr[data-task="Send the renewal quote"] .priority-badge'), /^low$/, "raised");
    await review(admin, "tasks-overdue");
    await admin.click("#tasks-automation");
    await admin.waitForSelector("#stats-by-priority");
    // A rule from the form, then the lead rules run on demand.
    await admin.fill("#rule-name", "Hot leads gone quiet");
    await admin.selectOption("#rule-trigger", "lead_idle");
    await admin.fill("#rule-min-score", "70");
    await admin.fill("#rule-idle", "48");
    await admin.fill("#rule-task-title", "Follow up with {name}");
    await admin.click("#save-rule");
    await admin.waitForSelector('#automation-rules [data-rule="Hot leads gone quiet"]');
    await admin.click("#run-rules");
    await admin.waitForSelector(".toast:has-text('Looked at')");
    await review(admin, "tasks-automation");

    // The dashboard counts the lead once its event has gone through relay, bus, queue and consumer.
    await admin.click('a.nav-link[href="/dashboard"]');
    await admin.waitForFunction(() => document.querySelector('[data-stat="Leads"]')?.textContent === "1", null, { timeout: 30000 });
    assert.equal(await admin.textContent('[data-stat="Hot or very hot"]'), "1");
    await review(admin, "dashboard");

    // Capture: a web form built with its live preview, whose snippet posts to its key; a
    // submission (as a website's server would send it) becomes a lead. WhatsApp: the channel set
    // up, a signed message from a new number becomes a lead with the conversation on its page.
    await admin.click('a.nav-link[href="/leads"]');
    await admin.click("#capture-channels");
    await admin.waitForSelector("#new-form");
    await admin.click("#new-form");
    await admin.waitForSelector("#form-builder");
    await admin.fill("#form-builder [name=campaign]", "Website 2027");
    await admin.fill("#consent_text", "I agree that Acme may contact me about its products.");
    await admin.check("#ask-phone");
    await admin.waitForFunction(() => document.querySelector("#form-preview")?.textContent?.includes("I agree that Acme"));
    await review(admin, "capture-form-builder");
    await admin.click("#save-form");
    await admin.waitForSelector('[data-form="Contact sales"] .snippet');
    const code = await admin.inputValue('[data-form="Contact sales"] .snippet');
    const formKey = code.match(/\/api\/forms\/([A-Za-z0-9_-]{32})\/submit/)?.[1];
    assert.ok(formKey, `the snippet posts to the form's key: ${code}`);
    assert.match(code, /name="nickname"/, "with its honeypot");
    await review(admin, "capture-forms");
    const submitted = await fetch(`${BASE}/api/forms/${formKey}/submit`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "first_name=Rosa&last_name=Form&email=rosa.form%40acme.example&consent=on",
    });
    assert.equal(submitted.status, 202);
    // The same person again from another address: a possible duplicate, flagged, not refused.
    const again = await fetch(`${BASE}/api/forms/${formKey}/submit`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "first_name=Rosa&last_name=Forms&email=rosa.forms%40acme.example",
    });
    assert.equal(again.status, 202);

    await admin.click("#tab-whatsapp");
    await admin.waitForSelector("#whatsapp-setup");
    await admin.fill("#whatsapp-setup [name=app_secret]", "e2e-app-secret-0123");
    await admin.fill("#whatsapp-setup [name=verify_token]", "e2e-verify-token");
    await admin.click("#whatsapp-setup [type=submit]");
    await admin.waitForSelector("#whatsapp-webhook code");
    const hookUrl = await admin.textContent("#whatsapp-webhook code");
    await review(admin, "capture-whatsapp");
    const delivery = JSON.stringify({ entry: [{ changes: [{ value: {
      contacts: [{ wa_id: "4915112345678", profile: { name: "Willa Whats" } }],
      messages: [{ id: "wamid.e2e1", from: "4915112345678", timestamp: String(Math.floor(Date.now() / 1000)), type: "text", text: { body: "Hi! Do you ship to Berlin?" } }],
    } }] }] });
    const signature = "sha256=" + createHmac("sha256", "e2e-app-secret-0123").update(delivery).digest("hex");
    const delivered = await fetch(hookUrl, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": signature }, body: delivery });
    assert.equal(delivered.status, 200);
    await admin.click('a.nav-link[href="/leads"]');
    await admin.waitForSelector('#leads-table tbody tr[data-lead-id]:has-text("Willa")');
    assert.match(await admin.textContent("#leads-table tbody"), /Rosa/, "the form's lead");
    await admin.click('#leads-table tbody tr[data-lead-id]:has-text("Forms") a');
    // The duplicate index follows the capture within seconds.
    for (let i = 0; i < 40 && !(await admin.$("#duplicate-badge")); i++) {
      await admin.waitForTimeout(500);
      await admin.reload();
    }
    await admin.waitForSelector("#duplicates [data-candidate]");
    assert.match(await admin.textContent("#duplicate-badge"), /1 possible duplicate/);
    assert.match(await admin.textContent("#duplicates"), /Rosa Form.*Similar name, same email domain/s);
    await review(admin, "lead-duplicates");
    await admin.click('a.nav-link[href="/leads"]');
    await admin.click('#leads-table tbody tr[data-lead-id]:has-text("Willa") a');
    await admin.waitForSelector("#whatsapp-conversation .chat-bubble");
    assert.match(await admin.textContent("#whatsapp-conversation"), /ship to Berlin/);
    await review(admin, "lead-whatsapp");

    // Consent: WhatsApp needs an opt-in; record it. Then the person unsubscribes from email through
    // the link, on the public page, and the lead shows it.
    assert.match(await admin.textContent('#consent [data-channel="whatsapp"]'), /needs opt-in/);
    await admin.click("#record-consent");
    await admin.selectOption("#consent-channel", "whatsapp");
    await admin.fill("#consent-proof", "Asked on WhatsApp to hear about new routes");
    await admin.click("#consent-submit");
    await admin.waitForSelector('#consent [data-channel="whatsapp"] .badge:has-text("Granted")');
    const [linkAnswer] = await Promise.all([
      admin.waitForResponse((r) => r.url().endsWith("/consent/unsubscribe-link")),
      admin.click("#copy-unsubscribe"),
    ]);
    const link = await linkAnswer.json();
    assert.ok(link.url.endsWith(`/unsubscribe#token=${link.token}`), link.url);
    const person = await admin.context().newPage();
    await person.goto(`${BASE}/unsubscribe#token=${link.token}`);
    await person.waitForSelector("#unsubscribe-question");
    assert.match(await person.textContent("#unsubscribe-question"), /emails/);
    await review(person, "unsubscribe");
    await person.click("#unsubscribe");
    await person.waitForSelector("#unsubscribed");
    await person.close();
    await admin.reload();
    await admin.waitForSelector('#consent [data-channel="email"] .badge:has-text("Withdrawn")');
    await admin.click("#consent-history summary");
    assert.match(await admin.textContent("#consent-history"), /via the unsubscribe link/);
    await review(admin, "lead-consent");
    const [exported] = await Promise.all([admin.waitForEvent("download"), admin.click("#export-lead")]);
    const held = JSON.parse(readFileSync(await exported.path(), "utf8"));
    assert.equal(held.lead.first_name, "Willa");
    assert.equal(held.consent.length, 2, "the ledger, oldest first");

    // Import: a CSV with a few bad rows, uploaded straight to storage, its mapping suggested, its
    // first rows tried, then the job's bar to the end and the report of the rows not imported.
    await admin.click('a.nav-link[href="/leads"]');
    await admin.click("#capture-channels");
    await admin.click("#tab-import");
    await admin.waitForSelector("#import-file");
    const rows = ["First name,Last name,Email,Company"];
    for (let n = 1; n <= 60; n++) rows.push(`Imre,Import ${n},imre.${n}@import.example,Acme`);
    rows.push("Bad,Row,=HYPERLINK(\"http://evil.example\"),Acme", ",Nameless,nameless@import.example,Acme");
    await admin.setInputFiles("#import-file", { name: "fair-leads.csv", mimeType: "text/csv", buffer: Buffer.from(rows.join("\n") + "\n") });
    await admin.waitForSelector("#import-mapping");
    assert.equal(await admin.inputValue('#import-mapping select[data-column="Email"]'), "email", "the mapping is suggested");
    await admin.fill("#import-settings [name=source]", "Trade fair");
    await admin.fill("#import-settings [name=campaign]", "Fair 2027");
    await admin.fill("#import-settings [name=medium]", "list");
    await admin.click("#import-dry-run");
    await admin.waitForSelector("#import-dry-run-result");
    assert.match(await admin.textContent("#import-dry-run-result"), /60<\/strong> new leads|60 new leads/);
    await review(admin, "capture-import-mapping");
    await admin.click("#import-start");
    await admin.waitForSelector("#import-progress");
    await admin.waitForSelector('#import-progress[data-state="succeeded"]', { timeout: 60_000 });
    assert.equal(await admin.getAttribute("#import-progress .progress", "aria-valuenow"), "100");
    assert.equal(await admin.textContent('[data-count="created"]'), "60");
    assert.equal(await admin.textContent('[data-count="failed"]'), "2");
    await review(admin, "capture-import-done");
    const [download] = await Promise.all([admin.waitForEvent("download"), admin.click("#download-report")]);
    const report = readFileSync(await download.path(), "utf8");
    assert.match(report, /^row,outcome,field,reason,value/);
    assert.match(report, /'=HYPERLINK/, "a formula comes back as text");
    assert.match(report, /first_name/);

    // Invite a viewer.
    await admin.click('a.nav-link[href="/users"]');
    await admin.waitForSelector("#add-user");
    const viewerEmail = `vera.${Date.now()}@acme.example`;
    await admin.fill("#u-full_name", "Vera Viewer");
    await admin.fill("#u-email", viewerEmail);
    await admin.selectOption("#u-role", "viewer");
    await admin.click("#add-user-submit");
    await admin.waitForFunction(() => document.querySelector("#user-rows")?.textContent?.includes("Vera Viewer"));
    assert.match(await admin.textContent("#user-rows"), /invited/);
    assert.equal(await admin.inputValue("#u-role"), "sales_rep", "the next invitation starts from the usual role");
    await review(admin, "users");

    // The governance policy: texts only after an opt-in stays; calls too from now on.
    await admin.click('a.nav-link[href="/governance"]');
    await admin.waitForSelector("#consent-policy");
    assert.equal(await admin.inputValue("#policy-whatsapp"), "opt_in");
    await admin.selectOption("#policy-phone", "opt_in");
    await admin.click("#save-policy");
    await admin.waitForFunction(() => /Version 1/.test(document.querySelector("main")?.textContent ?? ""));
    await review(admin, "governance");

    // The audit log names who did what.
    await admin.click('a.nav-link[href="/audit"]');
    await admin.waitForSelector("#audit-table tr[data-audit-id]");
    const audit = await admin.textContent("#audit-table");
    assert.match(audit, /lead\.create/);
    assert.match(audit, /Ana Silva/);
    await review(admin, "audit-log");

    // Background work and event delivery.
    await admin.click('a.nav-link[href="/system"]');
    // The import is the company's background work too.
    await admin.waitForSelector('#jobs tr[data-job]:has-text("import")');
    assert.match(await admin.textContent("#jobs"), /60 created/);
    await admin.waitForFunction(() => /delivered|on its way/.test(document.querySelector("#delivery")?.textContent ?? ""));
    await review(admin, "background-work");

    // Change the password: the current one is checked, and this session goes on.
    await admin.click("#user-menu");
    await admin.waitForSelector("#password-form");
    await fill(admin, { current_password: "Wrong-Horse-7", new_password: "Fresh-Horse-9!" });
    await admin.click("#password-submit");
    await admin.waitForSelector("#current_password.is-invalid");
    await review(admin, "account");
    await admin.fill("[name=current_password]", "Correct-Horse-7");
    await admin.click("#password-submit");
    await admin.waitForSelector(".toast:has-text('Password changed')");
    await admin.click('a.nav-link[href="/leads"]');
    await admin.waitForSelector("#leads-table tbody tr[data-lead-id]");

    // The viewer accepts the invitation in a browser of their own and sees what a viewer may.
    const viewer = await (await browser.newContext({ viewport: { width: 1280, height: 860 }, reducedMotion: "reduce" })).newPage();
    watch(viewer);
    await viewer.goto(await mailedLink(viewerEmail, "accept-invitation"));
    await viewer.waitForSelector("#reset-form");
    await review(viewer, "accept-invitation");
    await viewer.fill("[name=new_password]", "Viewer-Pass-9!");
    await viewer.click("#reset-submit");
    await viewer.waitForSelector("#leads-table tbody tr[data-lead-id]");
    assert.equal(await viewer.locator("#new-lead").count(), 0, "viewers capture nothing");
    assert.equal(await viewer.locator('a.nav-link[href="/audit"]').count(), 0);
    assert.equal(await viewer.locator('a.nav-link[href="/system"]').count(), 0);
    await review(viewer, "viewer-leads");
    await viewer.click("#leads-table tbody tr[data-lead-id] a");
    await viewer.waitForSelector("#record");
    assert.equal(await viewer.locator("#edit-lead").count(), 0, "viewers edit nothing");
    await review(viewer, "viewer-lead-record");
    await viewer.click('a.nav-link[href="/users"]');
    await viewer.waitForSelector("#users-table");
    assert.equal(await viewer.locator("#add-user").count(), 0, "viewers invite nobody");
    await review(viewer, "viewer-users");
    await viewer.click('a.nav-link[href="/accounts"]');
    await viewer.waitForSelector("#accounts-table tbody tr[data-account-id]");
    assert.equal(await viewer.locator("#new-account").count(), 0, "viewers create no accounts");
    await review(viewer, "viewer-accounts");
    await viewer.click('a.nav-link[href="/dashboard"]');
    await viewer.waitForSelector('[data-stat="Leads"]');
    await review(viewer, "viewer-dashboard");
    await viewer.click('a.nav-link[href="/leads"]');
    await viewer.waitForSelector("#leads-table tbody tr[data-lead-id]");
    // Signed out, a link to a lead leads there after signing in.
    // What went wrong, should the way back fail: the API's refusals and what the page says.
    const refused = [];
    viewer.on("response", (r) => r.url().includes("/api/") &&
      refused.push(`${r.request().method()} ${new URL(r.url()).pathname} → ${r.status()}`));
    viewer.on("framenavigated", (f) => f === viewer.mainFrame() && refused.push(`at ${f.url().replace(BASE, "")}`));
    const leadUrl = await viewer.locator("#leads-table tbody tr[data-lead-id] a").first().getAttribute("href").catch(() => null);
    await viewer.click("#sign-out");
    await viewer.waitForSelector("#auth-form");
    const target = leadUrl ?? (await admin.url()).replace(BASE, "");
    await viewer.goto(`${BASE}${target}`);
    await viewer.waitForSelector("#auth-form");
    await fill(viewer, { email: viewerEmail, password: "Viewer-Pass-9!" });
    await viewer.click("#auth-submit");
    await viewer.waitForURL(`${BASE}${target}`).catch(async (e) => {
      const said = await viewer.locator("[role=alert], .invalid-feedback").allTextContents().catch(() => []);
      await viewer.screenshot({ path: `${OUT}way-back-failed.png` }).catch(() => {});
      said.push(`email=${await viewer.inputValue("[name=email]").catch(() => "?")}`);
      throw new Error(`${e.message}\nAPI calls and navigations: ${refused.join("; ") || "none"}\nThe page says: ${said.join(" | ")}`);
    });
    assert.deepEqual(cspViolations, [], "the UI runs under the deployed CSP");
  } finally {
    await browser.close();
  }
});
