import { api, type CompanyChoice, startSession } from "../api/client";
import { html, type Raw } from "../html";

type Mode = "signin" | "register" | "forgot";

/** The signed-out pages' card: brand, a line saying what this is, and the page's own content. */
export function authCard(root: HTMLElement, lead: string, body: Raw) {
  root.innerHTML = html`
    <div class="container signin">
      <div class="card shadow-sm border-0">
        <div class="card-body p-4">
          <h1 class="h4 mb-1"><span class="brand-mark">◆</span> Keel CRM</h1>
          <p class="text-body-secondary mb-4">${lead}</p>
          ${body}
        </div>
      </div>
    </div>`.html;
}

export const field = (name: string, label: string, type = "text", autocomplete = "off") =>
  html`<div class="mb-3"><label class="form-label" for="${name}">${label}</label>
    <input class="form-control" id="${name}" name="${name}" type="${type}" autocomplete="${autocomplete}" />
    <div class="invalid-feedback" data-error-for="${name}"></div></div>`;

export const PASSWORD_RULES = "At least 10 characters, mixing three of: lower case, upper case, digits, symbols.";

type Problem = { detail?: string; status?: number; errors?: { field: string; message: string }[] };

/** Shows a problem on the form: each named field under its input, anything else in the alert. */
export function showProblem(form: HTMLFormElement, alert: HTMLElement, p: Problem, retryAfter?: string | null) {
  let placed = false;
  for (const e of p.errors ?? []) {
    const input = form.querySelector<HTMLElement>(`[name="${e.field}"]`);
    const feedback = form.querySelector<HTMLElement>(`[data-error-for="${e.field}"]`);
    if (input && feedback) {
      input.classList.add("is-invalid");
      feedback.textContent = e.message;
      placed = true;
    }
  }
  if (!placed) {
    const wait = retryAfter ? Number(retryAfter) : 0;
    alert.textContent =
      p.status === 429 && wait > 0
        ? `Too many attempts. Try again in ${wait >= 120 ? `${Math.ceil(wait / 60)} minutes` : `${wait} seconds`}.`
        : (p.errors?.[0]?.message ?? p.detail ?? "Something went wrong.");
    alert.classList.remove("d-none");
  }
}

/** Clears a form's errors and gives its values. */
export function formValues(form: HTMLFormElement, alert: HTMLElement): Record<string, string> {
  form.querySelectorAll(".is-invalid").forEach((el) => el.classList.remove("is-invalid"));
  alert.classList.add("d-none");
  return Object.fromEntries(new FormData(form).entries()) as Record<string, string>;
}

// Sign in, create a company with its first administrator, or ask for a password reset link.
export function signInPage(root: HTMLElement, mode: Mode = "signin") {
  const register = mode === "register";
  const forgot = mode === "forgot";
  const lead = register
    ? "Create your company's workspace."
    : forgot
      ? "Forgot your password? We'll email you a link to choose a new one."
      : "Sign in to your workspace.";
  authCard(
    root,
    lead,
    html`<form id="auth-form" novalidate>
        ${register ? [field("company_name", "Company"), field("full_name", "Your name", "text", "name")] : ""}
        ${field("email", "Work email", "email", "username")}
        ${forgot ? "" : field("password", "Password", "password", register ? "new-password" : "current-password")}
        ${register ? html`<div class="form-text mb-3">${PASSWORD_RULES}</div>` : ""}
        <div id="auth-error" class="alert alert-danger d-none" role="alert"></div>
        <button class="btn btn-primary w-100" type="submit" id="auth-submit">${register ? "Create workspace" : forgot ? "Email me a link" : "Sign in"}</button>
      </form>
      <p class="small text-center mt-3 mb-0">${
        register
          ? html`Already have a workspace? <a href="#/signin">Sign in</a>`
          : forgot
            ? html`Remembered it? <a href="#/signin">Sign in</a>`
            : html`New to Keel? <a href="#/register" id="to-register">Create a workspace</a>`
      }</p>
      ${register || forgot ? "" : html`<p class="small text-center mt-1 mb-0"><a href="#/forgot-password" id="to-forgot">Forgot your password?</a></p>`}`,
  );

  const form = root.querySelector<HTMLFormElement>("#auth-form")!;
  const error = root.querySelector<HTMLDivElement>("#auth-error")!;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = formValues(form, error);
    const button = root.querySelector<HTMLButtonElement>("#auth-submit")!;
    button.disabled = true;
    try {
      if (register) {
        const r = await api.POST("/api/auth/register", {
          body: { company_name: data.company_name, full_name: data.full_name, email: data.email, password: data.password },
        });
        if (r.error) return showProblem(form, error, r.error, r.response.headers.get("retry-after"));
        return checkEmailPage(root, r.data.email, "verify");
      }
      if (forgot) {
        const r = await api.POST("/api/auth/password-reset", { body: { email: data.email } });
        if (r.error) return showProblem(form, error, r.error, r.response.headers.get("retry-after"));
        return checkEmailPage(root, r.data.email, "reset");
      }
      const r = await api.POST("/api/auth/login", { body: { email: data.email, password: data.password } });
      if (r.error) return showProblem(form, error, r.error, r.response.headers.get("retry-after"));
      if ("choice_token" in r.data) return chooseCompanyPage(root, r.data, data.email);
      await startSession(r.data, data.email);
      location.hash = "#/leads";
    } finally {
      button.disabled = false;
    }
  });
}

/** After sign-up or a reset request: where to look next. */
function checkEmailPage(root: HTMLElement, email: string, why: "verify" | "reset") {
  authCard(
    root,
    "Check your email",
    html`<div class="text-center py-2" id="check-email">
      <div class="display-6 mb-2" aria-hidden="true">✉</div>
      ${why === "verify"
        ? html`<p>We sent a link to <strong>${email}</strong>. Open it to confirm your email: your workspace is created then.</p>
            <p class="small text-body-secondary">The link works for 24 hours. Nothing is created until it is used.</p>`
        : html`<p>If <strong>${email}</strong> has a Keel account, a link to choose a new password is on its way.</p>
            <p class="small text-body-secondary">The link works for an hour, once. Resetting signs you out everywhere.</p>`}
      <a class="btn btn-outline-secondary btn-sm" href="#/signin">Back to sign in</a>
    </div>`,
  );
}

/** The password was right in several companies: pick the one to enter. */
function chooseCompanyPage(root: HTMLElement, choice: CompanyChoice, email: string) {
  authCard(
    root,
    "Your email is in several workspaces. Which one do you want to open?",
    html`<div class="list-group" id="company-choice">${choice.companies.map(
        (c) => html`<button type="button" class="list-group-item list-group-item-action d-flex justify-content-between align-items-center" data-company-id="${c.company_id}">
          <span class="fw-semibold">${c.company_name}</span><span aria-hidden="true">→</span></button>`,
      )}</div>
      <div id="auth-error" class="alert alert-danger d-none mt-3" role="alert"></div>
      <p class="small text-center mt-3 mb-0"><a href="#/signin">Use another account</a></p>`,
  );
  const error = root.querySelector<HTMLDivElement>("#auth-error")!;
  root.querySelectorAll<HTMLButtonElement>("[data-company-id]").forEach((b) =>
    b.addEventListener("click", async () => {
      const r = await api.POST("/api/auth/login/choose", {
        body: { choice_token: choice.choice_token, company_id: b.dataset.companyId! },
      });
      if (r.error) {
        error.textContent = r.error.detail ?? "The sign-in has expired: sign in again.";
        error.classList.remove("d-none");
        return;
      }
      await startSession(r.data, email);
      location.hash = "#/leads";
    }),
  );
}
