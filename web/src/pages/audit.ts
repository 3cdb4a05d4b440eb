import { api } from "../api/client";
import { when } from "../format";
import { html } from "../html";

interface Change {
  field: string;
  before: unknown;
  after: unknown;
}

interface AuditRecord {
  id: string;
  at: string;
  actor_id: string;
  role: string;
  action: string;
  entity_type: string;
  entity_id: string;
  changes: Change[];
  request_id: string;
  source_ip: string;
}

const show = (v: unknown) => (v === null || v === undefined || v === "" ? "—" : String(v));

// Administrators: who changed what, when and from where; filters and cursor paging.
export function auditPage(root: HTMLElement) {
  const cursors: (string | null)[] = [null];
  let page = 0;
  root.innerHTML = html`
    <h1 class="h3 mb-1">Audit log</h1>
    <div class="text-body-secondary small mb-3">Every change in your company, newest first</div>
    <form class="card card-body border-0 shadow-sm mb-3" id="audit-filters">
      <div class="row g-2 align-items-end">
        <div class="col-md-2"><label class="form-label small mb-1" for="a-type">Entity</label>
          <select class="form-select form-select-sm" id="a-type" name="entity_type"><option value="">Any</option><option value="lead">Lead</option></select></div>
        <div class="col-md-3"><label class="form-label small mb-1" for="a-id">Entity id</label>
          <input class="form-control form-control-sm" id="a-id" name="entity_id" /></div>
        <div class="col-md-3"><label class="form-label small mb-1" for="a-actor">Actor (user id)</label>
          <input class="form-control form-control-sm" id="a-actor" name="actor_id" /></div>
        <div class="col-md-2"><label class="form-label small mb-1" for="a-from">From</label>
          <input type="date" class="form-control form-control-sm" id="a-from" name="from" /></div>
        <div class="col-md-2"><label class="form-label small mb-1" for="a-to">To</label>
          <input type="date" class="form-control form-control-sm" id="a-to" name="to" /></div>
      </div>
      <div class="invalid-feedback d-block" id="audit-error"></div>
    </form>
    <div class="card border-0 shadow-sm">
      <div class="table-responsive"><table class="table align-middle mb-0" id="audit-table">
        <thead class="table-light"><tr><th>When</th><th>Who</th><th>Action</th><th>Entity</th><th>Changes</th><th>Request</th></tr></thead>
        <tbody id="audit-rows"></tbody></table></div>
      <div class="card-footer bg-body d-flex justify-content-end"><div class="btn-group btn-group-sm">
        <button class="btn btn-outline-secondary" id="a-prev">← Newer</button>
        <button class="btn btn-outline-secondary" id="a-next">Older →</button></div></div>
    </div>`.html;
  const rows = root.querySelector<HTMLTableSectionElement>("#audit-rows")!;
  const form = root.querySelector<HTMLFormElement>("#audit-filters")!;
  const prev = root.querySelector<HTMLButtonElement>("#a-prev")!;
  const next = root.querySelector<HTMLButtonElement>("#a-next")!;

  async function load() {
    rows.innerHTML = html`<tr><td colspan="6" class="text-center py-4"><span class="spinner-border spinner-border-sm"></span></td></tr>`.html;
    const query: Record<string, string | number> = { limit: 25 };
    for (const [k, v] of new FormData(form).entries()) {
      const value = String(v).trim();
      if (!value) continue;
      query[k] = k === "from" ? `${value}T00:00:00Z` : k === "to" ? `${value}T23:59:59Z` : value;
    }
    if (cursors[page]) query.cursor = cursors[page]!;
    const { data, error } = await api.GET("/api/audit", { params: { query } });
    root.querySelector("#audit-error")!.textContent = error ? `${error.detail} ${(error.errors ?? []).map((e) => `${e.field} ${e.message}`).join("; ")}` : "";
    if (error || !data) {
      rows.innerHTML = "";
      return;
    }
    cursors[page + 1] = data.next_cursor ?? null;
    prev.disabled = page === 0;
    next.disabled = !data.next_cursor;
    const items = data.items as unknown as AuditRecord[];
    rows.innerHTML = items.length
      ? items
          .map(
            (r) => html`<tr data-audit-id="${r.id}">
              <td class="small text-nowrap">${when(r.at)}</td>
              <td class="small">${r.actor_id}<div class="text-body-secondary">${r.role.replace("_", " ")}</div></td>
              <td><span class="badge text-bg-light border">${r.action}</span></td>
              <td class="small">${r.entity_type}<div class="text-body-secondary font-monospace">${r.entity_id}</div></td>
              <td class="small">${r.changes.slice(0, 4).map((c) => html`<div><span class="fw-semibold">${c.field}</span>: ${show(c.before)} → ${show(c.after)}</div>`)}
                ${r.changes.length > 4 ? html`<div class="text-body-secondary">+${r.changes.length - 4} more</div>` : ""}</td>
              <td class="small text-body-secondary font-monospace">${r.request_id}<div>${r.source_ip}</div></td>
            </tr>`.html,
          )
          .join("")
      : html`<tr><td colspan="6" class="text-center py-4 text-body-secondary">No changes match.</td></tr>`.html;
  }

  form.addEventListener("change", () => {
    cursors.length = 1;
    page = 0;
    void load();
  });
  form.addEventListener("submit", (ev) => ev.preventDefault());
  prev.addEventListener("click", () => {
    page = Math.max(0, page - 1);
    void load();
  });
  next.addEventListener("click", () => {
    page += 1;
    void load();
  });
  void load();
}
