import { api, companyId, session } from "../api/client";
import { when } from "../format";
import { html } from "../html";

const ROLES = ["admin", "manager", "sales_rep", "viewer"];
const roleLabel = (r: string) => r.replace("_", " ");

// Administrators: the company's users, their roles, adding and deactivating them.
export function usersPage(root: HTMLElement) {
  const admin = session()?.role === "admin";
  root.innerHTML = html`
    <div class="d-flex align-items-center justify-content-between mb-3">
      <div><h1 class="h3 mb-0">Users & roles</h1><div class="text-body-secondary small">Who works in this company and what they may do</div></div>
    </div>
    <div id="users-alert" class="alert d-none"></div>
    <div class="row g-3">
      <div class="${admin ? "col-lg-8" : "col-12"}"><div class="card border-0 shadow-sm"><div class="table-responsive">
        <table class="table align-middle mb-0" id="users-table">
          <thead class="table-light"><tr><th>Name</th><th>Email</th><th>Role</th><th>Status</th><th>Since</th></tr></thead>
          <tbody id="user-rows"></tbody></table></div></div></div>
      ${admin
        ? html`<div class="col-lg-4"><form class="card card-body border-0 shadow-sm" id="add-user" novalidate>
            <h2 class="h6 text-uppercase text-body-secondary">Add a user</h2>
            ${[["full_name", "Name", "text"], ["email", "Email", "email"]].map(
              ([n, l, t]) => html`<div class="mb-2"><label class="form-label small mb-1" for="u-${n}">${l}</label>
                <input class="form-control form-control-sm" id="u-${n}" name="${n}" type="${t}" autocomplete="off" />
                <div class="invalid-feedback" data-error-for="${n}"></div></div>`,
            )}
            <div class="mb-3"><label class="form-label small mb-1" for="u-role">Role</label>
              <select class="form-select form-select-sm" id="u-role" name="role">${ROLES.map((r) => html`<option value="${r}" ${r === "sales_rep" ? "selected" : ""}>${roleLabel(r)}</option>`)}</select></div>
            <div class="form-text mb-2">They get an email to choose their own password.</div>
            <button class="btn btn-primary btn-sm" type="submit" id="add-user-submit">Invite user</button>
          </form></div>`
        : ""}
    </div>`.html;
  const alertBox = root.querySelector<HTMLDivElement>("#users-alert")!;
  const say = (ok: boolean, text: string) => {
    alertBox.className = ok ? "alert alert-success" : "alert alert-danger";
    alertBox.textContent = text;
  };

  async function load() {
    const { data, error } = await api.GET("/api/companies/{company_id}/users", { params: { path: { company_id: companyId() } } });
    if (error || !data) return say(false, error?.detail ?? "Could not load users.");
    root.querySelector("#user-rows")!.innerHTML = data.items
      .map(
        (u) => html`<tr data-user-id="${u.user_id}">
          <td class="fw-semibold">${u.full_name}</td><td class="small">${u.email}</td>
          <td>${admin
            ? html`<select class="form-select form-select-sm w-auto" data-role-of="${u.user_id}">${ROLES.map((r) => html`<option value="${r}" ${r === u.role ? "selected" : ""}>${roleLabel(r)}</option>`)}</select>`
            : roleLabel(u.role)}</td>
          <td>${!u.active
            ? html`<span class="badge text-bg-secondary">deactivated</span>`
            : u.invitation_pending
              ? html`<span class="badge text-bg-warning" title="Has not chosen a password through the emailed invitation yet">invited</span>`
              : html`<span class="badge text-bg-success">active</span>`}
            ${admin && u.active && u.invitation_pending ? html`<button class="btn btn-link btn-sm" data-resend="${u.user_id}">Resend invitation</button>` : ""}
            ${admin ? html`<button class="btn btn-link btn-sm" data-toggle-active="${u.user_id}" data-active="${u.active}">${u.active ? "Deactivate" : "Reactivate"}</button>` : ""}</td>
          <td class="small text-body-secondary">${when(u.created_at)}</td></tr>`.html,
      )
      .join("");
  }

  async function change(userId: string, body: { role?: string; active?: boolean }) {
    const { error } = await api.PATCH("/api/companies/{company_id}/users/{user_id}", {
      params: { path: { company_id: companyId(), user_id: userId } },
      body: body as never,
    });
    if (error) say(false, error.errors?.[0]?.message ?? error.detail);
    else say(true, "Saved. Role changes apply from the user's next sign-in or token refresh.");
    void load();
  }

  root.addEventListener("change", (ev) => {
    const el = ev.target as HTMLSelectElement;
    if (el.dataset.roleOf) void change(el.dataset.roleOf, { role: el.value });
  });
  async function resend(userId: string) {
    const { data, error } = await api.POST("/api/companies/{company_id}/users/{user_id}/invitation", {
      params: { path: { company_id: companyId(), user_id: userId } },
    });
    if (error) say(false, error.errors?.[0]?.message ?? error.detail);
    else say(true, `A fresh invitation is on its way to ${data.email}.`);
  }

  root.addEventListener("click", (ev) => {
    const el = ev.target as HTMLElement;
    if (el.dataset.resend) void resend(el.dataset.resend);
    if (el.dataset.toggleActive) void change(el.dataset.toggleActive, { active: el.dataset.active !== "true" });
  });
  root.querySelector<HTMLFormElement>("#add-user")?.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target as HTMLFormElement;
    form.querySelectorAll(".is-invalid").forEach((el) => el.classList.remove("is-invalid"));
    const data = Object.fromEntries(new FormData(form).entries()) as Record<string, string>;
    const { error } = await api.POST("/api/companies/{company_id}/users", {
      params: { path: { company_id: companyId() } },
      body: data as never,
    });
    if (error) {
      for (const e of error.errors ?? []) {
        form.querySelector(`[name="${e.field}"]`)?.classList.add("is-invalid");
        const fb = form.querySelector(`[data-error-for="${e.field}"]`);
        if (fb) fb.textContent = e.message;
      }
      return say(false, error.detail);
    }
    form.reset();
    say(true, `${data.full_name} is invited: an email asks them to choose their password.`);
    void load();
  });
  void load();
}
