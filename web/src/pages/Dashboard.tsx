import { useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { DashboardSummary } from "../api/types";
import { ErrorNote, Spinner } from "../components/Feedback";
import { PageHeader } from "../components/PageHeader";
import { BANDS, bandLabel, count, STATUSES, when } from "../lib/format";
import { usePoll } from "../lib/poll";

function Bars({ counts, order, label, cls }: { counts: Record<string, number>; order: readonly string[]; label: (k: string) => string; cls: (k: string) => string }) {
  const max = Math.max(1, ...Object.values(counts));
  const keys = order.filter((k) => counts[k]);
  if (keys.length === 0) return <p class="text-body-secondary small mb-0">No leads yet.</p>;
  return (
    <ul class="list-unstyled mb-0">
      {keys.map((k) => (
        <li class="bar-row">
          <span class="bar-label">{label(k)}</span>
          <div class="bar-track" aria-hidden="true">
            <div class={`bar-fill ${cls(k)}`} style={{ width: `${(100 * counts[k]) / max}%` }} />
          </div>
          <span class="bar-value">{count(counts[k])}</span>
        </li>
      ))}
    </ul>
  );
}

function Stat({ label, value, note }: { label: string; value: number; note: string }) {
  return (
    <div class="col-sm-4">
      <div class="card border-0 shadow-sm h-100">
        <div class="card-body">
          <div class="text-body-secondary small">{label}</div>
          <div class="display-6 fw-semibold" data-stat={label}>
            {count(value)}
          </div>
          <div class="small text-body-secondary">{note}</div>
        </div>
      </div>
    </div>
  );
}

function Card({ title, children }: { title: string; children: preact.ComponentChildren }) {
  return (
    <div class="col-lg-4">
      <section class="card border-0 shadow-sm h-100" aria-label={title}>
        <div class="card-body">
          <h2 class="h6 text-uppercase text-body-secondary mb-3">{title}</h2>
          {children}
        </div>
      </section>
    </div>
  );
}

// Lead counters kept by the dashboard consumer from lead events: one read, refreshed while visible.
export default function Dashboard() {
  const [summary, setSummary] = useState<DashboardSummary | string | null>(null);
  usePoll(async () => {
    const { data, error } = await api.GET("/api/companies/{company_id}/dashboard/summary", {
      params: { path: { company_id: companyId() } },
    });
    setSummary(data ?? error?.detail ?? "Could not load the dashboard.");
    return data ? (data.updated_at ?? "") + JSON.stringify(data.leads) : null;
  });
  if (summary === null) return <Spinner label="Loading the dashboard" />;
  if (typeof summary === "string") return <ErrorNote>{summary}</ErrorNote>;
  const l = summary.leads;
  const sources = Object.keys(l.by_source).sort((a, b) => l.by_source[b] - l.by_source[a]).slice(0, 8);
  const hot = (l.by_score_band.hot ?? 0) + (l.by_score_band.very_hot ?? 0);
  const open = (l.by_status.new ?? 0) + (l.by_status.contacted ?? 0) + (l.by_status.nurturing ?? 0);
  return (
    <>
      <PageHeader title="Dashboard" note={<span id="updated">{summary.updated_at ? `Updated ${when(summary.updated_at)} · live while this page is open` : "No events counted yet"}</span>} />
      <div class="row g-3" id="cards">
        <Stat label="Leads" value={l.total} note="all captured leads, archived included" />
        <Stat label="Open" value={open} note="new, contacted or nurturing" />
        <Stat label="Hot or very hot" value={hot} note="score above 50" />
        <Card title="By status">
          <Bars counts={l.by_status} order={STATUSES} label={(k) => k} cls={(k) => `status-${k}`} />
        </Card>
        <Card title="By score band">
          <Bars counts={l.by_score_band} order={BANDS} label={bandLabel} cls={(k) => `band-${k}`} />
        </Card>
        <Card title="Top sources">
          <Bars counts={l.by_source} order={sources} label={(k) => k} cls={() => "source"} />
        </Card>
      </div>
    </>
  );
}
