import { api, session } from "../api/client";
import type { BackgroundWork, Job } from "../api/types";
import { when } from "../format";
import { html } from "../html";

const REFRESH_MS = 5000;

const STATE_CLASSES: Record<string, string> = {
  queued: "text-bg-secondary",
  running: "text-bg-primary",
  succeeded: "text-bg-success",
  failed: "text-bg-danger",
};

// Administrators: the company's background work (imports, bulk actions, …) and how promptly its
// events reach integrations. The platform's queues are its operators' business, not shown here.
export function systemPage(root: HTMLElement) {
  root.innerHTML = html`
    <h1 class="h3 mb-1">Background work</h1>
    <div class="text-body-secondary small mb-3">Your company's jobs and event delivery · refreshes every 5 s</div>
    <div id="sys-alert" class="alert d-none"></div>
    <div class="row g-3">
      <div class="col-lg-8"><div class="card border-0 shadow-sm"><div class="table-responsive">
        <table class="table align-middle mb-0" id="jobs-table">
          <thead class="table-light"><tr><th>Job</th><th>State</th><th>Progress</th><th>Started</th></tr></thead>
          <tbody id="jobs"><tr><td colspan="4" class="text-center py-4"><span class="spinner-border spinner-border-sm"></span></td></tr></tbody>
        </table></div></div></div>
      <div class="col-lg-4"><div class="card border-0 shadow-sm"><div class="card-body" id="delivery"></div></div></div>
    </div>`.html;
  const alertBox = root.querySelector<HTMLDivElement>("#sys-alert")!;
  let timer = 0;

  async function load() {
    if (!document.body.contains(root)) return window.clearInterval(timer);
    const company = session()!.companyId;
    const { data, error } = await api.GET("/api/companies/{company_id}/jobs", { params: { path: { company_id: company } } });
    if (error || !data) {
      alertBox.className = "alert alert-warning";
      alertBox.textContent = error?.detail ?? "Could not load background work.";
      return;
    }
    alertBox.className = "alert d-none";
    render(data);
  }

  function progress(job: Job): string {
    const counts = Object.entries(job.progress).map(([k, v]) => `${v.toLocaleString()} ${k}`);
    return counts.length ? counts.join(" · ") : "—";
  }

  function render(w: BackgroundWork) {
    root.querySelector("#jobs")!.innerHTML = w.jobs.items.length
      ? w.jobs.items
          .map(
            (j) => html`<tr data-job="${j.job_id}">
              <td class="fw-semibold" title="${j.job_id}">${j.kind}</td>
              <td><span class="badge ${STATE_CLASSES[j.state] ?? "text-bg-secondary"}">${j.state}</span></td>
              <td>${progress(j)}</td>
              <td class="small text-body-secondary">${when(j.created_at)}</td>
            </tr>`.html,
          )
          .join("")
      : html`<tr data-empty><td colspan="4" class="text-center text-body-secondary py-4">No background work yet. Imports and bulk changes will show their progress here.</td></tr>`.html;
    const e = w.events;
    const lag = e.lag_ms ?? null;
    const tone = lag === null ? "secondary" : e.waiting ? "warning" : lag < 2000 ? "success" : lag < 60000 ? "warning" : "danger";
    const label = lag === null ? "no events yet" : e.waiting ? "on its way" : "delivered";
    root.querySelector("#delivery")!.innerHTML = html`<h2 class="h6 text-uppercase text-body-secondary">Event delivery</h2>
      <div class="d-flex align-items-baseline gap-2"><span class="display-6 fw-semibold">${lag === null ? "—" : `${(lag / 1000).toFixed(1)} s`}</span>
      <span class="badge text-bg-${tone}">${label}</span></div>
      <div class="small text-body-secondary">${e.last_event_at ? `Latest event ${when(e.last_event_at)}` : "Nothing has happened yet"}${e.last_published_at ? `, reached integrations ${when(e.last_published_at)}` : ""}</div>`.html;
  }

  void load();
  timer = window.setInterval(load, REFRESH_MS);
}
