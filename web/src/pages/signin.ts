import { saveSession } from "../api/client";
import { html } from "../html";

// Until the identity context exists, the local dev server mints tokens for a company and role.
export function signInPage(root: HTMLElement) {
  root.innerHTML = html`
    <div class="container signin">
      <div class="card shadow-sm border-0">
        <div class="card-body p-4">
          <h1 class="h4 mb-1"><span class="brand-mark">◆</span> Keel CRM</h1>
          <p class="text-body-secondary mb-4">Sign in to a local workspace with a development token.</p>
          <form id="signin" novalidate>
            <div class="mb-3">
              <label class="form-label" for="company_id">Company ID</label>
              <input class="form-control" id="company_id" name="company_id" placeholder="Leave empty for a new company" autocomplete="off" />
            </div>
            <div class="mb-3">
              <label class="form-label" for="role">Role</label>
              <select class="form-select" id="role" name="role">
                <option value="admin">Admin</option>
                <option value="manager">Manager</option>
                <option value="sales_rep">Sales rep</option>
                <option value="viewer">Viewer</option>
              </select>
            </div>
            <div id="signin-error" class="alert alert-danger d-none"></div>
            <button class="btn btn-primary w-100" type="submit">Sign in</button>
          </form>
          <details class="mt-4 small">
            <summary class="text-body-secondary">I have a token</summary>
            <form id="token-form" class="mt-2">
              <textarea class="form-control font-monospace small" id="token" rows="3" placeholder="eyJhbGciOi..."></textarea>
              <button class="btn btn-outline-secondary btn-sm mt-2" type="submit">Use token</button>
            </form>
          </details>
        </div>
      </div>
    </div>`.html;

  const error = root.querySelector<HTMLDivElement>("#signin-error")!;
  root.querySelector<HTMLFormElement>("#signin")!.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target as HTMLFormElement);
    const response = await fetch("/api/dev/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ company_id: form.get("company_id") || null, role: form.get("role") }),
    });
    const body = await response.json();
    if (!response.ok) {
      error.textContent = body.errors?.[0] ? `${body.errors[0].field} ${body.errors[0].message}` : body.detail;
      error.classList.remove("d-none");
      return;
    }
    saveSession({ token: body.access_token, companyId: body.company_id, userId: body.user_id, role: body.role });
    location.hash = "#/leads";
  });
  root.querySelector<HTMLFormElement>("#token-form")!.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = root.querySelector<HTMLTextAreaElement>("#token")!.value.trim();
    try {
      const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      saveSession({ token, companyId: claims.tid, userId: claims.sub, role: claims.role });
      location.hash = "#/leads";
    } catch {
      error.textContent = "That does not look like a Keel token.";
      error.classList.remove("d-none");
    }
  });
}
