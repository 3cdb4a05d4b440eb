import { api, companyId } from "../api/client";
import type { DashboardSummary } from "../api/types";
import { BAND_NAMES, STATUSES, bandLabel, when } from "../format";
import { html, type Raw } from "../html";

const REFRESH_MS = 5000;

function bars(counts: Record<string, number>, order: string[], label: (k: string) => string, cls: (k: string) => string): Raw {
  const max = Math.max(1, ...Object.values(counts));
  const keys = order.filter((k) => counts[k]);
  if (keys.length === 0) return html`<p class="text-body-secondary small mb-0">No leads yet.</p>`;
  return html`${keys.map(
    (k) => html`<div class="bar-row">
      <span class="bar-label">${label(k)}</span>
      <div class="bar-track"><div class="bar-fill ${cls(k)}" style="width:${(100 * counts[k]) / max}%"></div></div>
      <span class="bar-value">${counts[k]}</span>
    </div>`,
  )}`;
}

// Lead counters kept by the dashboard consumer from lead events: one read, refreshed live.
export function dashboardPage(root: HTMLElement) {
  root.innerHTML = html`
    <div class="d-flex align-items-center justify-content-between mb-3">
      <div><h1 class="h3 mb-0">Dashboard</h1>
        <div class="text-body-secondary small" id="updated">Loading…</div></div>
    </div>
    <div class="row g-3" id="cards"><div class="col-12 text-center py-5"><span class="spinner-border"></span></div></div>`.html;
  let timer = 0;

  async function load() {
    if (!document.body.contains(root)) return window.clearInterval(timer);
    const { data, error } = await api.GET("/api/companies/{company_id}/dashboard/summary", {
      params: { path: { company_id: companyId() } },
    });
    if (error || !data) {
      root.querySelector("#cards")!.innerHTML = html`<div class="alert alert-danger">${error?.detail ?? "Could not load the dashboard."}</div>`.html;
      return;
    }
    render(data);
  }

  function render(s: DashboardSummary) {
    const l = s.leads;
    const sources = Object.keys(l.by_source).sort((a, b) => l.by_source[b] - l.by_source[a]).slice(0, 8);
    const hot = (l.by_score_band.hot ?? 0) + (l.by_score_band.very_hot ?? 0);
    const open = (l.by_status.new ?? 0) + (l.by_status.contacted ?? 0) + (l.by_status.nurturing ?? 0);
    const stat = (label: string, value: number, note: string) => html`<div class="col-sm-4"><div class="card border-0 shadow-sm h-100"><div class="card-body">
      <div class="text-body-secondary small">${label}</div><div class="display-6 fw-semibold" data-stat="${label}">${value}</div>
      <div class="small text-body-secondary">${note}</div></div></div></div>`;
    const card = (title: string, body: Raw, cols = "col-lg-4") => html`<div class="${cols}"><div class="card border-0 shadow-sm h-100">
      <div class="card-body"><h2 class="h6 text-uppercase text-body-secondary mb-3">${title}</h2>${body}</div></div></div>`;
    root.querySelector("#cards")!.innerHTML = html`
      ${stat("Leads", l.total, "all captured leads, archived included")}
      ${stat("Open", open, "new, contacted or nurturing")}
      ${stat("Hot or very hot", hot, "score above 50")}
      ${card("By status", bars(l.by_status, STATUSES, (k) => k, (k) => `status-${k}`))}
      ${card("By score band", bars(l.by_score_band, BAND_NAMES, bandLabel, (k) => `band-${k}`))}
      ${card("Top sources", bars(l.by_source, sources, (k) => k, () => "source"))}`.html;
    root.querySelector("#updated")!.textContent = s.updated_at ? `Updated ${when(s.updated_at)} · refreshes every 5 s` : "No events counted yet";
  }

  void load();
  timer = window.setInterval(load, REFRESH_MS);
}
