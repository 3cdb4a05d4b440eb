import { useRef, useState } from "preact/hooks";
import { api, companyId, session, type Lead } from "../api/client";
import { ScoreBadge, StatusBadge } from "../components/Badges";
import { DataTable } from "../components/DataTable";
import { PageHeader } from "../components/PageHeader";
import { UserName, UserPicker } from "../components/People";
import { BANDS, bandLabel, STATUSES, when } from "../lib/format";
import { useQueryState } from "../lib/query";

const FILTERS = ["status", "score_band", "source", "owner_id"] as const;

/** How this page's leads spread over the score bands: a bar, so the mix shows at a glance. */
function BandBar({ items }: { items: Lead[] }) {
  const counts = BANDS.map((b) => items.filter((l) => l.score_band === b).length);
  const total = Math.max(1, items.length);
  return (
    <div class="card-body pb-0">
      <div class="d-flex justify-content-between small text-body-secondary mb-1">
        <span>Score bands on this page</span>
        <span id="band-legend">
          {BANDS.map((b, i) => (
            <span class="ms-2">
              <span class={`legend-dot band-${b}`} aria-hidden="true" />
              {bandLabel(b)} {counts[i]}
            </span>
          ))}
        </span>
      </div>
      <div class="band-bar mb-3" role="img" aria-label={BANDS.map((b, i) => `${bandLabel(b)} ${counts[i]}`).join(", ")}>
        {BANDS.map((b, i) => counts[i] > 0 && <div class={`band band-${b}`} style={{ width: `${(100 * counts[i]) / total}%` }} />)}
      </div>
    </div>
  );
}

// The leads table: filters kept in the URL, score badges, the page's score mix, cursor paging.
export default function Leads() {
  const [filters, setFilters] = useQueryState(FILTERS);
  const [source, setSource] = useState(filters.source);
  const [page, setPage] = useState<Lead[]>([]);
  const canWrite = session.value?.role !== "viewer";
  const debounce = useRef(0);

  const load = async (cursor: string | null) => {
    const query: Record<string, string | number> = { limit: 25 };
    for (const k of FILTERS) if (filters[k]) query[k] = filters[k];
    if (cursor) query.cursor = cursor;
    const { data, error } = await api.GET("/api/companies/{company_id}/leads", {
      params: { path: { company_id: companyId() }, query },
    });
    return data ?? error?.detail ?? "Could not load leads.";
  };

  return (
    <>
      <PageHeader
        title="Leads"
        note={
          <>
            People with intent, newest first ·{" "}
            <a href="/capture" id="capture-channels">
              forms and channels
            </a>
          </>
        }
      >
        {canWrite && (
          <a class="btn btn-primary" href="/leads/new" id="new-lead">
            + New lead
          </a>
        )}
      </PageHeader>
      <form class="card card-body border-0 shadow-sm mb-3" id="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="row g-2 align-items-end">
          <div class="col-sm-6 col-lg-3">
            <label class="form-label small mb-1" for="f-status">
              Status
            </label>
            <select class="form-select form-select-sm" id="f-status" value={filters.status} onChange={(e) => setFilters({ status: e.currentTarget.value })}>
              <option value="">Any status</option>
              {STATUSES.map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </div>
          <div class="col-sm-6 col-lg-3">
            <label class="form-label small mb-1" for="f-band">
              Score band
            </label>
            <select class="form-select form-select-sm" id="f-band" value={filters.score_band} onChange={(e) => setFilters({ score_band: e.currentTarget.value })}>
              <option value="">Any score</option>
              {BANDS.map((b) => (
                <option value={b}>{bandLabel(b)}</option>
              ))}
            </select>
          </div>
          <div class="col-sm-6 col-lg-3">
            <label class="form-label small mb-1" for="f-source">
              Source
            </label>
            <input
              class="form-control form-control-sm"
              id="f-source"
              placeholder="e.g. Google Ads"
              value={source}
              onInput={(e) => {
                const v = e.currentTarget.value;
                setSource(v);
                clearTimeout(debounce.current);
                debounce.current = window.setTimeout(() => setFilters({ source: v.trim() }), 400);
              }}
            />
          </div>
          <div class="col-sm-6 col-lg-3">
            <UserPicker name="owner_id" label="Owner" value={filters.owner_id} small placeholder="Anyone" onChange={(id) => setFilters({ owner_id: id })} />
          </div>
        </div>
      </form>
      <div class="card border-0 shadow-sm">
        <BandBar items={page} />
        <DataTable<Lead>
          id="leads-table"
          caption="Leads"
          reloadKey={JSON.stringify(filters)}
          load={load}
          onPage={setPage}
          rowKey={(l) => l.id}
          rowAttrs={(l) => ({ "data-lead-id": l.id })}
          empty={
            <>
              No leads match.{" "}
              {canWrite && <a href="/leads/new">Capture the first one</a>}
            </>
          }
          columns={[
            {
              title: "Name",
              cell: (l) => (
                <>
                  <a class="fw-semibold text-decoration-none" href={`/leads/${l.id}`}>
                    {l.first_name} {l.last_name}
                  </a>
                  <div class="small text-body-secondary">{l.job_title ?? ""}</div>
                </>
              ),
            },
            { title: "Company", cell: (l) => l.company_name ?? <span class="text-body-secondary">—</span> },
            {
              title: "Contact",
              class: "small",
              cell: (l) => (
                <>
                  {l.email ?? ""}
                  <div class="text-body-secondary">{l.phone ?? ""}</div>
                </>
              ),
            },
            {
              title: "Attribution",
              class: "small",
              cell: (l) => (
                <>
                  {l.source}
                  <div class="text-body-secondary">
                    {l.campaign} · {l.medium}
                  </div>
                </>
              ),
            },
            { title: "Owner", class: "small", cell: (l) => <UserName id={l.owner_id} /> },
            { title: "Status", cell: (l) => <StatusBadge status={l.status} /> },
            { title: "Score", cell: (l) => <ScoreBadge score={l.score} band={l.score_band} /> },
            { title: "Created", class: "small text-body-secondary text-nowrap", cell: (l) => when(l.created_at) },
          ]}
        />
      </div>
    </>
  );
}
