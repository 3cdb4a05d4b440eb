import { useState } from "preact/hooks";
import { api } from "../api/client";
import { DataTable } from "../components/DataTable";
import { PageHeader } from "../components/PageHeader";
import { UserName, UserPicker } from "../components/People";
import { roleLabel, when } from "../lib/format";
import { useQueryState } from "../lib/query";

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

const FILTERS = ["entity_type", "entity_id", "actor_id", "from", "to"] as const;
/** The UTC instant of local midnight `days` after the start of `date` (yyyy-mm-dd). */
function localDay(date: string, days: number): string {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(y, m - 1, d + days).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const show = (v: unknown) => (v === null || v === undefined || v === "" ? "—" : String(v));

/** The record an audit entry is about, as a link where it has a page. */
function Entity({ type, id }: { type: string; id: string }) {
  if (type === "lead")
    return (
      <a href={`/leads/${id}`} title={id}>
        lead …{id.slice(-6)}
      </a>
    );
  if (type === "user") return <UserName id={id} />;
  return <span title={id}>{type}</span>;
}

// Administrators: who changed what, when and from where; filters in the URL, cursor paging.
export default function Audit() {
  const [filters, setFilters] = useQueryState(FILTERS);
  const [problem, setProblem] = useState("");
  const load = async (cursor: string | null) => {
    const query: Record<string, string | number> = { limit: 25 };
    for (const k of FILTERS) {
      const v = filters[k];
      // Days as the reader sees them: local midnight to local midnight, sent as UTC instants.
      if (v) query[k] = k === "from" ? localDay(v, 0) : k === "to" ? localDay(v, 1) : v;
    }
    if (cursor) query.cursor = cursor;
    const { data, error } = await api.GET("/api/audit", { params: { query } });
    setProblem(error ? `${error.detail ?? ""} ${(error.errors ?? []).map((e) => `${e.field} ${e.message}`).join("; ")}` : "");
    return data ? { items: data.items as unknown as AuditRecord[], next_cursor: data.next_cursor } : (error?.detail ?? "Could not load the audit log.");
  };
  return (
    <>
      <PageHeader title="Audit log" note="Every change in your company, newest first" />
      <form class="card card-body border-0 shadow-sm mb-3" id="audit-filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="row g-2 align-items-end">
          <div class="col-md-2">
            <label class="form-label small mb-1" for="a-type">
              Entity
            </label>
            <select class="form-select form-select-sm" id="a-type" value={filters.entity_type} onChange={(e) => setFilters({ entity_type: e.currentTarget.value })}>
              <option value="">Any</option>
              <option value="lead">Lead</option>
              <option value="user">User</option>
              <option value="company">Company</option>
            </select>
          </div>
          <div class="col-md-3">
            <UserPicker name="actor_id" label="Who" value={filters.actor_id} small placeholder="Anyone" onChange={(id) => setFilters({ actor_id: id })} />
          </div>
          <div class="col-md-3">
            <label class="form-label small mb-1" for="a-from">
              From
            </label>
            <input type="date" class="form-control form-control-sm" id="a-from" value={filters.from} onChange={(e) => setFilters({ from: e.currentTarget.value })} />
          </div>
          <div class="col-md-3">
            <label class="form-label small mb-1" for="a-to">
              To
            </label>
            <input type="date" class="form-control form-control-sm" id="a-to" value={filters.to} onChange={(e) => setFilters({ to: e.currentTarget.value })} />
          </div>
        </div>
        {problem && (
          <div class="text-danger small mt-2" id="audit-error" role="alert">
            {problem}
          </div>
        )}
      </form>
      <div class="card border-0 shadow-sm">
        <DataTable<AuditRecord>
          id="audit-table"
          caption="Audit records"
          reloadKey={JSON.stringify(filters)}
          load={load}
          rowKey={(r) => r.id}
          rowAttrs={(r) => ({ "data-audit-id": r.id })}
          empty="No changes match."
          columns={[
            { title: "When", class: "small text-nowrap", cell: (r) => when(r.at) },
            {
              title: "Who",
              class: "small",
              cell: (r) => (
                <>
                  <UserName id={r.actor_id} />
                  <div class="text-body-secondary text-capitalize">{roleLabel(r.role)}</div>
                </>
              ),
            },
            { title: "Action", cell: (r) => <span class="badge text-bg-light border">{r.action}</span> },
            { title: "Entity", class: "small", cell: (r) => <Entity type={r.entity_type} id={r.entity_id} /> },
            {
              title: "Changes",
              class: "small",
              cell: (r) => (
                <>
                  {r.changes.slice(0, 4).map((c) => (
                    <div>
                      <span class="fw-semibold">{c.field}</span>: {show(c.before)} → {show(c.after)}
                    </div>
                  ))}
                  {r.changes.length > 4 && <div class="text-body-secondary">+{r.changes.length - 4} more</div>}
                </>
              ),
            },
            {
              title: "Request",
              class: "small text-body-secondary",
              cell: (r) => (
                <span title={`request ${r.request_id}`}>
                  {r.source_ip}
                </span>
              ),
            },
          ]}
        />
      </div>
    </>
  );
}
