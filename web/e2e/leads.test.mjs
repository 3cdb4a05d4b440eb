// Browser test: sign up (confirming the email through the link the local SES received), sign in,
// capture a lead through the form (first with a mistake the server catches), and find it in the
// leads table; invite a colleague; change the password. Screenshots land in web/test-results/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.KEEL_URL ?? "http://127.0.0.1:3000";
const OUT = new URL("../test-results/", import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });

/** The latest `page` link the app mailed to `email`, as the local SES (moto) keeps it. */
async function mailedLink(email, page) {
  const data = await (await fetch(`${process.env.AWS_ENDPOINT_URL_SESV2}/moto-api/data.json`)).json();
  const mail = (data.ses?.Message ?? []).filter((m) => m.destinations?.ToAddresses?.includes(email)).pop();
  const token = mail?.body.match(new RegExp(`#/${page}\\?token=([A-Za-z0-9_-]+)`))?.[1];
  assert.ok(token, `no ${page} link was mailed to ${email}`);
  return `${BASE}/#/${page}?token=${token}`;
}

test("capture a lead through the form and see it in the table", async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    await page.goto(BASE);
    await page.waitForSelector("#auth-form");
    await page.click("#to-register");
    await page.waitForSelector("[name=company_name]");
    const email = `ana.${Date.now()}@acme.example`;
    await page.fill("[name=company_name]", "Acme Ltd");
    await page.fill("[name=full_name]", "Ana Silva");
    await page.fill("[name=email]", email);
    await page.fill("[name=password]", "tooweak");
    await page.click("#auth-submit");
    await page.waitForSelector("#password.is-invalid");
    assert.match(await page.textContent('[data-error-for="password"]'), /at least 10/);
    await page.screenshot({ path: `${OUT}register.png` });
    await page.fill("[name=password]", "Correct-Horse-7");
    await page.click("#auth-submit");
    await page.waitForSelector("#check-email");
    assert.match(await page.textContent("#check-email"), new RegExp(email.replace(/\./g, "\\.")));
    await page.screenshot({ path: `${OUT}check-email.png` });
    await page.goto(await mailedLink(email, "verify-email"));
    await page.waitForSelector("#verify-form");
    await page.fill("[name=password]", "Correct-Horse-7");
    await page.click("#verify-submit");
    await page.waitForSelector("#leads-table");
    assert.match(await page.textContent("#user-menu"), new RegExp(email.replace(/\./g, "\\.")));

    // Sign out and back in.
    await page.click("#sign-out");
    await page.waitForSelector("#auth-form");
    await page.fill("[name=email]", email);
    await page.fill("[name=password]", "Correct-Horse-7");
    await page.screenshot({ path: `${OUT}signin.png` });
    await page.click("#auth-submit");
    await page.waitForSelector("#leads-table");
    assert.match(await page.textContent("#user-menu"), /admin/);

    await page.click("#new-lead");
    await page.waitForSelector("#lead-form");
    const fill = async (values) => { for (const [k, v] of Object.entries(values)) await page.fill(`[name=${k}]`, v); };
    await fill({ first_name: "Ana", last_name: "Silva", company_name: "Acme Ltd", email: "ana.silva@acme",
      phone: "+1 415 555 0123", job_title: "Head of Sales", source: "Partner referral", campaign: "CRM-Q4-2025",
      medium: "Email", budget: "50k USD", need: "Pipeline visibility" });
    await page.click("#save");
    await page.waitForSelector("#email.is-invalid");
    const message = await page.textContent('[data-error-for="email"]');
    assert.match(message, /email address/);
    await page.screenshot({ path: `${OUT}lead-form-errors.png`, fullPage: true });

    await page.fill("[name=email]", "ana.silva@acme.example");
    await page.click("#save");
    await page.waitForSelector("#leads-table tbody tr[data-lead-id]");
    const row = await page.textContent("#leads-table tbody tr[data-lead-id]");
    assert.match(row, /Ana Silva/);
    assert.match(row, /Acme Ltd/);
    assert.match(row, /Partner referral/);
    // Score: email 10 + phone 10 + two BANT answers 30 + company 5 + title 5 + referral 5.
    assert.match(row, /\b65\b/);
    await page.screenshot({ path: `${OUT}leads-table.png`, fullPage: true });

    // The dashboard counts the lead once its event has gone through relay, bus, queue and consumer.
    await page.click('a.nav-link[href="#/dashboard"]');
    await page.waitForFunction(() => document.querySelector('[data-stat="Leads"]')?.textContent === "1", null, { timeout: 30000 });
    assert.equal(await page.textContent('[data-stat="Hot or very hot"]'), "1");
    await page.screenshot({ path: `${OUT}dashboard.png`, fullPage: true });

    // Invite a colleague.
    await page.click('a.nav-link[href="#/users"]');
    await page.waitForSelector("#add-user");
    await page.fill("#u-full_name", "Rui Costa");
    await page.fill("#u-email", `rui.${Date.now()}@acme.example`);
    await page.click("#add-user-submit");
    await page.waitForFunction(() => document.querySelector("#user-rows")?.textContent?.includes("Rui Costa"));
    assert.match(await page.textContent("#user-rows"), /invited/);
    await page.screenshot({ path: `${OUT}users.png`, fullPage: true });

    // Administrators see the changes in the audit log.
    await page.click('a.nav-link[href="#/audit"]');
    await page.waitForSelector("#audit-rows tr[data-audit-id]");
    assert.match(await page.textContent("#audit-rows"), /lead\.create/);
    assert.match(await page.textContent("#audit-rows"), /user\.create/);
    await page.screenshot({ path: `${OUT}audit-log.png`, fullPage: true });

    // Administrators see their company's background work and how its events are delivered.
    await page.click('a.nav-link[href="#/system"]');
    await page.waitForSelector("#jobs tr[data-empty]");
    await page.waitForFunction(() => /delivered|on its way/.test(document.querySelector("#delivery")?.textContent ?? ""));
    await page.screenshot({ path: `${OUT}background-work.png`, fullPage: true });

    // Change the password: the current one is checked, and this session goes on.
    await page.click("#user-menu");
    await page.waitForSelector("#password-form");
    await page.fill("[name=current_password]", "Wrong-Horse-7");
    await page.fill("[name=new_password]", "Fresh-Horse-9!");
    await page.click("#password-submit");
    await page.waitForSelector("#current_password.is-invalid");
    await page.fill("[name=current_password]", "Correct-Horse-7");
    await page.click("#password-submit");
    await page.waitForSelector("#password-alert.alert-success");
    await page.screenshot({ path: `${OUT}account.png`, fullPage: true });
    await page.click('a.nav-link[href="#/leads"]');
    await page.waitForSelector("#leads-table tbody tr[data-lead-id]");
  } finally {
    await browser.close();
  }
});
