import { api, companyId, type Lead } from "../api/client";
import { BAND_NAMES, STATUSES, bandLabel, scoreBadge, statusBadge, when } from "../format";
import { html } from "../html";

interface Filters {
  status: string;
  score_band: string;
  source: string;
  owner_id: string;
}

const PAGE_SIZE = 25;

// The leads table: filters, score badges, a score-band bar for the page, cursor paging.
export function leadsPage(root: HTMLElement) {
  const filters: Filters = { status: "", score_band: "", source: "", owner_id: "" };
  const cursors: (string | null)[] = [null]; // cursors[i] opens page i
  let page = 0;

  root.innerHTML = html`
    <div class="d-flex align-items-center justify-content-between mb-3">
      <div>
        <h1 class="h3 mb-0">Leads</h1>
        <div class="text-body-secondary small">People with intent, newest first</div>
      </div>
      <a class="btn btn-primary" href="#/leads/new" id="new-lead">+ New lead</a>
    </div>
    <form class="card card-body border-0 shadow-sm mb-3" id="filters">
      <div class="row g-2 align-items-end">
        <div class="col-sm-6 col-lg-3">
          <label class="form-label small mb-1" for="f-status">Status</label>
          <select class="form-select form-select-sm" id="f-status" name="status">
            <option value="">Any status</option>
            ${STATUSES.map((s) => html`<option value="${s}">${s}</option>`)}
          </select>
        </div>
        <div class="col-sm-6 col-lg-3">
          <label class="form-label small mb-1" for="f-band">Score band</label>
          <select class="form-select form-select-sm" id="f-band" name="score_band">
            <option value="">Any score</option>
            ${BAND_NAMES.map((b) => html`<option value="${b}">${bandLabel(b)}</option>`)}
          </select>
        </div>
        <div class="col-sm-6 col-lg-3">
          <label class="form-label small mb-1" for="f-source">Source</label>
          <input class="form-control form-control-sm" id="f-source" name="source" placeholder="e.g. Google Ads" />
        </div>
        <div class="col-sm-6 col-lg-3">
          <label class="form-label small mb-1" for="f-owner">Owner</label>
          <input class="form-control form-control-sm" id="f-owner" name="owner_id" placeholder="User id" />
        </div>
      </div>
    </form>
    <div class="card border-0 shadow-sm">
      <div class="card-body pb-0">
        <div class="d-flex justify-content-between small text-body-secondary mb-1">
          <span>Score bands on this page</span><span id="band-legend"></span>
        </div>
        <div class="band-bar mb-3" id="band-bar" aria-label="Score bands on this page"></div>
      </div>
      <div class="table-responsive">
        <table class="table table-hover align-middle mb-0" id="leads-table">
          <thead class="table-light">
            <tr><th>Name</th><th>Company</th><th>Contact</th><th>Attribution</th><th>Status</th><th>Score</th><th>Created</th></tr>
          </thead>
          <tbody id="rows"></tbody>
        </table>
      </div>
      <div class="card-footer bg-body d-flex justify-content-between align-items-center">
        <span class="small text-body-secondary" id="page-info"></span>
        <div class="btn-group btn-group-sm">
          <button class="btn btn-outline-secondary" id="prev">← Previous</button>
          <button class="btn btn-outline-secondary" id="next">Next →</button>
        </div>
      </div>
    </div>`.html;

  const rows = root.querySelector<HTMLTableSectionElement>("#rows")!;
  const prev = root.querySelector<HTMLButtonElement>("#prev")!;
  const next = root.querySelector<HTMLButtonElement>("#next")!;

  async function load() {
    rows.innerHTML = html`<tr><td colspan="7" class="text-center py-5 text-body-secondary">
      <span class="spinner-border spinner-border-sm me-2"></span>Loading leads…</td></tr>`.html;
    const query: Record<string, string | number> = { limit: PAGE_SIZE };
    for (const [k, v] of Object.entries(filters)) if (v) query[k] = v;
    const cursor = cursors[page];
    if (cursor) query.cursor = cursor;
    const { data, error } = await api.GET("/api/companies/{company_id}/leads", {
      params: { path: { company_id: companyId() }, query },
    });
    if (error || !data) {
      rows.innerHTML = html`<tr><td colspan="7" class="text-danger p-4">${error?.detail ?? "Could not load leads."}</td></tr>`.html;
      return;
    }
    cursors[page + 1] = data.next_cursor ?? null;
    render(data.items);
    prev.disabled = page === 0;
    next.disabled = !data.next_cursor;
    root.querySelector("#page-info")!.textContent = `Page ${page + 1} · ${data.items.length} lead${data.items.length === 1 ? "" : "s"}`;
  }

  function render(items: Lead[]) {
    if (items.length === 0) {
      rows.innerHTML = html`<tr><td colspan="7" class="text-center py-5 text-body-secondary">
        No leads match. <a href="#/leads/new">Capture the first one</a>.</td></tr>`.html;
    } else {
      rows.innerHTML = items
        .map(
          (l) => html`<tr data-lead-id="${l.id}">
            <td><a class="fw-semibold text-decoration-none" href="#/leads/${l.id}">${l.first_name} ${l.last_name}</a>
              <div class="small text-body-secondary">${l.job_title ?? ""}</div></td>
            <td>${l.company_name ?? html`<span class="text-body-secondary">—</span>`}</td>
            <td class="small">${l.email ?? ""}<div class="text-body-secondary">${l.phone ?? ""}</div></td>
            <td class="small">${l.source}<div class="text-body-secondary">${l.campaign} · ${l.medium}</div></td>
            <td>${statusBadge(l.status)}</td>
            <td class="text-nowrap">${scoreBadge(l.score, l.score_band)}</td>
            <td class="small text-body-secondary text-nowrap">${when(l.created_at)}</td>
          </tr>`.html,
        )
        .join("");
    }
    const counts = BAND_NAMES.map((b) => items.filter((l) => l.score_band === b).length);
    const total = Math.max(1, items.length);
    root.querySelector("#band-bar")!.innerHTML = BAND_NAMES.map((b, i) =>
      counts[i] ? html`<div class="band band-${b}" style="width:${(100 * counts[i]) / total}%" title="${bandLabel(b)}: ${counts[i]}"></div>`.html : "",
    ).join("");
    root.querySelector("#band-legend")!.innerHTML = BAND_NAMES.map(
      (b, i) => html`<span class="ms-2"><span class="legend-dot band-${b}"></span>${bandLabel(b)} ${counts[i]}</span>`.html,
    ).join("");
  }

  let debounce: number | undefined;
  root.querySelector<HTMLFormElement>("#filters")!.addEventListener("input", (ev) => {
    const el = ev.target as HTMLInputElement;
    filters[el.name as keyof Filters] = el.value.trim();
    window.clearTimeout(debounce);
    debounce = window.setTimeout(() => {
      cursors.length = 1;
      page = 0;
      void load();
    }, el.tagName === "SELECT" ? 0 : 300);
  });
  root.querySelector<HTMLFormElement>("#filters")!.addEventListener("submit", (ev) => ev.preventDefault());
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
