import { api, session, startSession } from "../api/client";
import { html } from "../html";
import { authCard, field, formValues, PASSWORD_RULES, showProblem } from "./signin";

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");

/** The link from the sign-up email: with the password chosen at sign-up, confirms the email,
 * creates the workspace and signs in. */
export function verifyEmailPage(root: HTMLElement, token: string) {
  authCard(
    root,
    "Confirm your email: enter the password you chose when signing up to open your workspace.",
    html`<form id="verify-form" novalidate>
      ${field("password", "Password", "password", "current-password")}
      <div id="auth-error" class="alert alert-danger d-none" role="alert"></div>
      <button class="btn btn-primary w-100" type="submit" id="verify-submit">Open my workspace</button>
    </form>
    <p class="small text-center mt-3 mb-0">Didn't sign up? Ignore the email: nothing is created without this step.</p>`,
  );
  const form = root.querySelector<HTMLFormElement>("#verify-form")!;
  const error = root.querySelector<HTMLDivElement>("#auth-error")!;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = formValues(form, error);
    const button = root.querySelector<HTMLButtonElement>("#verify-submit")!;
    button.disabled = true;
    const r = await api.POST("/api/auth/verify-email", { body: { token, password: data.password } });
    button.disabled = false;
    if (r.data) {
      await startSession(r.data);
      location.hash = "#/leads";
      return;
    }
    if (r.error?.errors?.some((e) => e.field === "password")) return showProblem(form, error, r.error);
    const already = r.response.status === 409;
    authCard(
      root,
      already ? "This workspace exists already." : "This link can't be used.",
      html`<div class="alert alert-warning" id="verify-error">${
        already
          ? "You opened a workspace of this name with this email before: sign in to it."
          : sentence(r.error?.errors?.[0]?.message ?? r.error?.detail ?? "")
      }</div>
      <div class="d-flex gap-2"><a class="btn btn-primary" href="#/signin">Sign in</a><a class="btn btn-outline-secondary" href="#/register">Sign up again</a></div>`,
    );
  });
}

/** The link from a reset email (choose a new password; every other session ends) or from an
 * invitation (choose your first password). */
export function resetPasswordPage(root: HTMLElement, token: string, invitation = false) {
  authCard(
    root,
    invitation
      ? "You're invited. Choose your password to sign in."
      : "Choose a new password. Signing in again will be needed on your other devices.",
    html`<form id="reset-form" novalidate>
      ${field("new_password", "New password", "password", "new-password")}
      <div class="form-text mb-3">${PASSWORD_RULES}</div>
      <div class="invalid-feedback d-block mb-2" data-error-for="token"></div>
      <div id="auth-error" class="alert alert-danger d-none" role="alert"></div>
      <button class="btn btn-primary w-100" type="submit" id="reset-submit">Set password and sign in</button>
    </form>
    <p class="small text-center mt-3 mb-0">Link expired? <a href="#/forgot-password">Ask for a new one</a></p>`,
  );
  const form = root.querySelector<HTMLFormElement>("#reset-form")!;
  const error = root.querySelector<HTMLDivElement>("#auth-error")!;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = formValues(form, error);
    const r = await api.POST("/api/auth/password-reset/confirm", { body: { token, new_password: data.new_password } });
    if (r.error || !r.data) return showProblem(form, error, r.error ?? {}, r.response.headers.get("retry-after"));
    await startSession(r.data);
    location.hash = "#/leads";
  });
}

/** Signed in: your account, and changing your password. */
export function accountPage(root: HTMLElement) {
  const s = session()!;
  root.innerHTML = html`
    <div class="mb-3"><h1 class="h3 mb-0">Your account</h1><div class="text-body-secondary small">${s.email} · ${s.role.replace("_", " ")}</div></div>
    <div class="row"><div class="col-lg-5">
      <form class="card card-body border-0 shadow-sm" id="password-form" novalidate>
        <h2 class="h6 text-uppercase text-body-secondary">Change password</h2>
        ${field("current_password", "Current password", "password", "current-password")}
        ${field("new_password", "New password", "password", "new-password")}
        <div class="form-text mb-3">${PASSWORD_RULES} Your other sessions end; this one goes on.</div>
        <div id="password-alert" class="alert d-none" role="status"></div>
        <button class="btn btn-primary" type="submit" id="password-submit">Change password</button>
      </form>
    </div></div>`.html;
  const form = root.querySelector<HTMLFormElement>("#password-form")!;
  const alert = root.querySelector<HTMLDivElement>("#password-alert")!;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    alert.className = "alert alert-danger d-none";
    const data = formValues(form, alert);
    const r = await api.POST("/api/auth/password", {
      body: { current_password: data.current_password, new_password: data.new_password },
    });
    if (r.error || !r.data) return showProblem(form, alert, r.error ?? {}, r.response.headers.get("retry-after"));
    await startSession(r.data, s.email);
    form.reset();
    alert.className = "alert alert-success";
    alert.textContent = "Password changed. Your other sessions have ended.";
  });
}
