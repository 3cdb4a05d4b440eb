import { useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { BackgroundWork, Job } from "../api/types";
import { JobStateBadge } from "../components/Badges";
import { ErrorNote, Spinner } from "../components/Feedback";
import { PageHeader } from "../components/PageHeader";
import { count, when } from "../lib/format";
import { usePoll } from "../lib/poll";

/** A job's progress: a bar when it knows its total, its counts either way. */
export function JobProgress({ job }: { job: Job }) {
  const { total, ...counts } = job.progress;
  const done = Object.values(counts).reduce((a, b) => a + b, 0);
  const words = Object.entries(counts).map(([k, v]) => `${count(v)} ${k}`).join(" · ") || "—";
  if (!total) return <span>{words}</span>;
  const pct = Math.min(100, Math.round((100 * done) / total));
  return (
    <div>
      <div class="progress" role="progressbar" aria-label={`${job.kind} progress`} aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div class={`progress-bar ${job.state === "running" ? "progress-bar-striped progress-bar-animated" : ""}`} style={{ width: `${pct}%` }} />
      </div>
      <div class="small text-body-secondary mt-1">
        {words} of {count(total)}
      </div>
    </div>
  );
}

function Delivery({ work }: { work: BackgroundWork }) {
  const e = work.events;
  const lag = e.lag_ms ?? null;
  const tone = lag === null ? "secondary" : e.waiting ? "warning" : lag < 2000 ? "success" : lag < 60000 ? "warning" : "danger";
  const label = lag === null ? "no events yet" : e.waiting ? "on its way" : "delivered";
  return (
    <div class="card-body" id="delivery">
      <h2 class="h6 text-uppercase text-body-secondary">Event delivery</h2>
      <div class="d-flex align-items-baseline gap-2">
        <span class="display-6 fw-semibold">{lag === null ? "—" : `${(lag / 1000).toFixed(1)} s`}</span>
        <span class={`badge text-bg-${tone}`}>{label}</span>
      </div>
      <div class="small text-body-secondary">
        {e.last_event_at ? `Latest event ${when(e.last_event_at)}` : "Nothing has happened yet"}
        {e.last_published_at ? `, reached integrations ${when(e.last_published_at)}` : ""}
      </div>
    </div>
  );
}

// Administrators: the company's background work (imports, bulk actions, …) and how promptly its
// events reach integrations. The platform's queues are its operators' business, not shown here.
export default function System() {
  const [work, setWork] = useState<BackgroundWork | string | null>(null);
  usePoll(async () => {
    const { data, error } = await api.GET("/api/companies/{company_id}/jobs", { params: { path: { company_id: companyId() } } });
    setWork(data ?? error?.detail ?? "Could not load background work.");
    return data ? JSON.stringify(data) : null;
  });
  return (
    <>
      <PageHeader title="Background work" note="Your company's jobs and event delivery · live while this page is open" />
      {work === null ? (
        <Spinner />
      ) : typeof work === "string" ? (
        <ErrorNote>{work}</ErrorNote>
      ) : (
        <div class="row g-3">
          <div class="col-lg-8">
            <div class="card border-0 shadow-sm">
              <div class="table-responsive">
                <table class="table align-middle mb-0" id="jobs-table">
                  <caption class="visually-hidden">Background jobs</caption>
                  <thead>
                    <tr>
                      <th scope="col">Job</th>
                      <th scope="col">State</th>
                      <th scope="col">Progress</th>
                      <th scope="col">Started</th>
                    </tr>
                  </thead>
                  <tbody id="jobs">
                    {work.jobs.items.length ? (
                      work.jobs.items.map((j) => (
                        <tr data-job={j.job_id}>
                          <td class="fw-semibold" title={j.job_id}>
                            {j.kind}
                          </td>
                          <td>
                            <JobStateBadge state={j.state} />
                          </td>
                          <td>
                            <JobProgress job={j} />
                          </td>
                          <td class="small text-body-secondary">{when(j.created_at)}</td>
                        </tr>
                      ))
                    ) : (
                      <tr data-empty>
                        <td colSpan={4} class="text-center text-body-secondary py-4">
                          No background work yet. Imports and bulk changes will show their progress here.
                        </td>
                      </tr>
                    )}
                  </tbody>
                </table>
              </div>
            </div>
          </div>
          <div class="col-lg-4">
            <section class="card border-0 shadow-sm" aria-label="Event delivery">
              <Delivery work={work} />
            </section>
          </div>
        </div>
      )}
    </>
  );
}
