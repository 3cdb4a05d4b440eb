import { api, companyId, session, type Lead, type Problem } from "../api/client";
import { STATUSES, scoreBadge, statusBadge } from "../format";
import { html } from "../html";

const TEXT_FIELDS: [string, string, string, boolean][] = [
  // name, label, section, required
  ["first_name", "First name", "person", true],
  ["last_name", "Last name", "person", true],
  ["email", "Email", "person", false],
  ["phone", "Phone (international, e.g. +14155550123)", "person", false],
  ["job_title", "Job title", "person", false],
  ["company_name", "Company", "company", false],
  ["website", "Website", "company", false],
  ["source", "Source", "attribution", true],
  ["campaign", "Campaign", "attribution", true],
  ["medium", "Medium", "attribution", true],
  ["budget", "Budget", "bant", false],
  ["authority", "Authority", "bant", false],
  ["need", "Need", "bant", false],
  ["timeline", "Timeline", "bant", false],
  ["owner_id", "Owner (user id)", "owner", false],
];

const SECTIONS: [string, string][] = [
  ["person", "Person"],
  ["company", "Company"],
  ["attribution", "Attribution"],
  ["bant", "Qualification (BANT)"],
  ["owner", "Ownership"],
];

function field(name: string, label: string, required: boolean, value: string) {
  return html`<div class="col-md-6 mb-3">
    <label class="form-label" for="${name}">${label}${required ? html`<span class="text-danger"> *</span>` : ""}</label>
    <input class="form-control" id="${name}" name="${name}" value="${value}" autocomplete="off" />
    <div class="invalid-feedback" data-error-for="${name}"></div>
  </div>`;
}

// Create (leadId undefined) or edit a lead; shows the server's field errors next to the fields.
export async function leadFormPage(root: HTMLElement, leadId?: string) {
  let lead: Lead | undefined;
  if (leadId) {
    root.innerHTML = html`<div class="text-center py-5"><span class="spinner-border"></span></div>`.html;
    const { data, error } = await api.GET("/api/companies/{company_id}/leads/{lead_id}", {
      params: { path: { company_id: companyId(), lead_id: leadId } },
    });
    if (error || !data) {
      root.innerHTML = html`<div class="alert alert-warning">This lead does not exist. <a href="#/leads">Back to leads</a></div>`.html;
      return;
    }
    lead = data;
  }
  const value = (name: string) => String((lead as Record<string, unknown> | undefined)?.[name] ?? "");
  const canWrite = session()?.role !== "viewer";

  root.innerHTML = html`
    <nav class="small mb-2"><a href="#/leads" class="text-decoration-none">← Leads</a></nav>
    <div class="d-flex align-items-center justify-content-between mb-3">
      <h1 class="h3 mb-0">${lead ? `${lead.first_name} ${lead.last_name}` : "New lead"}</h1>
      ${lead ? html`<div>${statusBadge(lead.status)} <span class="ms-2">${scoreBadge(lead.score, lead.score_band)}</span></div>` : ""}
    </div>
    <div id="form-alert" class="alert d-none" role="alert"></div>
    <form id="lead-form" class="card border-0 shadow-sm" novalidate>
      <div class="card-body">
        ${SECTIONS.map(
          ([key, title]) => html`<h2 class="h6 text-uppercase text-body-secondary mt-2 mb-3">${title}</h2>
            <div class="row">${TEXT_FIELDS.filter((f) => f[2] === key).map(([n, l, , r]) => field(n, l, r, value(n)))}
            ${key === "owner" && lead
              ? html`<div class="col-md-6 mb-3"><label class="form-label" for="status">Status</label>
                  <select class="form-select" id="status" name="status">
                    ${STATUSES.map((s) => html`<option value="${s}" ${s === lead!.status ? "selected" : ""}>${s}</option>`)}
                  </select><div class="invalid-feedback" data-error-for="status"></div></div>`
              : ""}</div>`,
        )}
        <div class="mb-3">
          <label class="form-label" for="notes">Notes</label>
          <textarea class="form-control" id="notes" name="notes" rows="3">${value("notes")}</textarea>
          <div class="invalid-feedback" data-error-for="notes"></div>
        </div>
      </div>
      <div class="card-footer bg-body d-flex justify-content-between">
        <div>${lead && lead.status !== "archived" && canWrite ? html`<button type="button" class="btn btn-outline-danger" id="archive">Archive</button>` : ""}</div>
        <div>
          <a class="btn btn-link" href="#/leads">Cancel</a>
          <button class="btn btn-primary" type="submit" id="save" ${canWrite ? "" : "disabled"}>${lead ? "Save changes" : "Create lead"}</button>
        </div>
      </div>
    </form>`.html;

  const form = root.querySelector<HTMLFormElement>("#lead-form")!;
  const alertBox = root.querySelector<HTMLDivElement>("#form-alert")!;

  function showProblem(p: Problem) {
    form.querySelectorAll(".is-invalid").forEach((el) => el.classList.remove("is-invalid"));
    for (const e of p.errors ?? []) {
      const input = form.querySelector<HTMLElement>(`[name="${e.field}"]`);
      const feedback = form.querySelector<HTMLElement>(`[data-error-for="${e.field}"]`);
      if (input && feedback) {
        input.classList.add("is-invalid");
        feedback.textContent = e.message;
      }
    }
    alertBox.className = "alert alert-danger";
    alertBox.innerHTML = html`<strong>${p.title}.</strong> ${p.detail}
      ${p.existing_id ? html` <a href="#/leads/${p.existing_id}">Open the existing lead</a>` : ""}`.html;
    alertBox.querySelector("a")?.addEventListener("click", () => window.scrollTo(0, 0));
    form.querySelector<HTMLElement>(".is-invalid")?.focus();
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const save = root.querySelector<HTMLButtonElement>("#save")!;
    save.disabled = true;
    save.innerHTML = html`<span class="spinner-border spinner-border-sm me-1"></span>Saving…`.html;
    const data = Object.fromEntries(new FormData(form).entries()) as Record<string, string>;
    try {
      if (!lead) {
        const body = Object.fromEntries(Object.entries(data).filter(([, v]) => v.trim() !== ""));
        const { data: created, error } = await api.POST("/api/companies/{company_id}/leads", {
          params: { path: { company_id: companyId() }, header: { "Idempotency-Key": crypto.randomUUID() } },
          body,
        });
        if (error) return showProblem(error);
        location.hash = `#/leads?created=${created!.id}`;
      } else {
        const body: Record<string, string | null> = {};
        for (const [k, v] of Object.entries(data)) if (v !== value(k)) body[k] = v.trim() === "" ? null : v;
        const { data: updated, error } = await api.PATCH("/api/companies/{company_id}/leads/{lead_id}", {
          params: { path: { company_id: companyId(), lead_id: lead.id }, header: { "If-Match": `"${lead.version}"` } },
          body,
        });
        if (error) return showProblem(error);
        lead = updated!;
        location.hash = "#/leads";
      }
    } finally {
      save.disabled = false;
      save.textContent = lead ? "Save changes" : "Create lead";
    }
  });

  root.querySelector("#archive")?.addEventListener("click", async () => {
    if (!lead || !confirm("Archive this lead? It stays readable and can be restored.")) return;
    const { error } = await api.DELETE("/api/companies/{company_id}/leads/{lead_id}", {
      params: { path: { company_id: companyId(), lead_id: lead.id } },
    });
    if (error) return showProblem(error);
    location.hash = "#/leads";
  });
}
