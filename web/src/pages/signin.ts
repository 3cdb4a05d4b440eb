import { api, saveSession, sessionFrom } from "../api/client";
import { html } from "../html";

type Mode = "signin" | "register";

// Sign in, or create a company with its first administrator.
export function signInPage(root: HTMLElement, mode: Mode = "signin") {
  const register = mode === "register";
  const field = (name: string, label: string, type = "text", autocomplete = "off") =>
    html`<div class="mb-3"><label class="form-label" for="${name}">${label}</label>
      <input class="form-control" id="${name}" name="${name}" type="${type}" autocomplete="${autocomplete}" />
      <div class="invalid-feedback" data-error-for="${name}"></div></div>`;
  root.innerHTML = html`
    <div class="container signin">
      <div class="card shadow-sm border-0">
        <div class="card-body p-4">
          <h1 class="h4 mb-1"><span class="brand-mark">◆</span> Keel CRM</h1>
          <p class="text-body-secondary mb-4">${register ? "Create your company's workspace." : "Sign in to your workspace."}</p>
          <form id="auth-form" novalidate>
            ${register ? [field("company_name", "Company"), field("full_name", "Your name", "text", "name")] : ""}
            ${field("email", "Work email", "email", "username")}
            ${field("password", "Password", "password", register ? "new-password" : "current-password")}
            ${register ? html`<div class="form-text mb-3">At least 10 characters, mixing three of: lower case, upper case, digits, symbols.</div>` : ""}
            <div class="mb-3 d-none" id="company-choice">${field("company_id", "Company ID (your email is in several companies)")}</div>
            <div id="auth-error" class="alert alert-danger d-none"></div>
            <button class="btn btn-primary w-100" type="submit" id="auth-submit">${register ? "Create workspace" : "Sign in"}</button>
          </form>
          <p class="small text-center mt-3 mb-0">${
            register ? html`Already have a workspace? <a href="#/signin">Sign in</a>` : html`New to Keel? <a href="#/register" id="to-register">Create a workspace</a>`
          }</p>
        </div>
      </div>
    </div>`.html;

  const form = root.querySelector<HTMLFormElement>("#auth-form")!;
  const error = root.querySelector<HTMLDivElement>("#auth-error")!;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    form.querySelectorAll(".is-invalid").forEach((el) => el.classList.remove("is-invalid"));
    error.classList.add("d-none");
    const data = Object.fromEntries(new FormData(form).entries()) as Record<string, string>;
    const button = root.querySelector<HTMLButtonElement>("#auth-submit")!;
    button.disabled = true;
    const result = register
      ? await api.POST("/api/auth/register", {
          body: { company_name: data.company_name, full_name: data.full_name, email: data.email, password: data.password },
        })
      : await api.POST("/api/auth/login", {
          body: { email: data.email, password: data.password, company_id: data.company_id || null },
        });
    button.disabled = false;
    if (result.error || !result.data) {
      const p = result.error!;
      for (const e of p.errors ?? []) {
        if (e.field === "company_id") root.querySelector("#company-choice")!.classList.remove("d-none");
        const input = form.querySelector<HTMLElement>(`[name="${e.field}"]`);
        const feedback = form.querySelector<HTMLElement>(`[data-error-for="${e.field}"]`);
        if (input && feedback) {
          input.classList.add("is-invalid");
          feedback.textContent = e.message;
        }
      }
      if (!p.errors?.length) {
        error.textContent = p.detail;
        error.classList.remove("d-none");
      }
      return;
    }
    saveSession(sessionFrom(result.data, data.email));
    location.hash = "#/leads";
  });
}
