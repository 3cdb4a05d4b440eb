import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { ActivityBadge } from "../components/ActivityTimeline";
import { DataTable } from "../components/DataTable";
import { SelectField } from "../components/Form";
import { PageHeader } from "../components/PageHeader";
import { UserName, UserPicker } from "../components/People";
import { when, words } from "../lib/format";
import { useQueryState } from "../lib/query";

type Activity = components["schemas"]["Activity"];

const FILTERS = ["type", "owner_id", "from", "to"] as const;
const TYPES = ["call", "email", "meeting", "note", "task", "whatsapp", "stage_change", "system"] as const;
const RECORD_PAGES = { lead: "/leads", account: "/accounts", contact: "/contacts", deal: "/deals" } as const;

/** A day from the date picker as the start or end of that day in UTC. */
const dayBound = (ymd: string, end: boolean) => (ymd ? `${ymd}T${end ? "23:59:59" : "00:00:00"}Z` : "");

// Everything that happened across the company, by when it happened: type badges, the records it
// concerns, filters in the URL.
export default function Activities() {
  const [filters, setFilters] = useQueryState(FILTERS);
  const load = async (cursor: string | null) => {
    const query: Record<string, string | number> = { limit: 25 };
    if (filters.type) query.type = filters.type;
    if (filters.owner_id) query.owner_id = filters.owner_id;
    if (filters.from) query.from = dayBound(filters.from, false);
    if (filters.to) query.to = dayBound(filters.to, true);
    if (cursor) query.cursor = cursor;
    const { data, error } = await api.GET("/api/companies/{company_id}/activities", { params: { path: { company_id: companyId() }, query } });
    return data ?? error?.errors?.[0]?.message ?? error?.detail ?? "Could not load activities.";
  };
  return (
    <>
      <PageHeader title="Activities" note="Calls, emails, meetings and notes, and what the product recorded, newest first by when they happened." />
      <form class="card card-body border-0 shadow-sm mb-3" id="activity-filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="row g-2 align-items-end">
          <SelectField
            class="col-sm-6 col-lg-3"
            small
            name="type"
            id="f-type"
            label="Type"
            options={[["", "Any type"], ...TYPES.map((t): [string, string] => [t, words(t)])]}
            value={filters.type}
            onChange={(e) => setFilters({ type: e.currentTarget.value })}
          />
          <div class="col-sm-6 col-lg-3">
            <UserPicker name="owner_id" label="Owner" value={filters.owner_id} small placeholder="Anyone" onChange={(id) => setFilters({ owner_id: id })} />
          </div>
          <div class="col-sm-6 col-lg-3">
            <label class="form-label small mb-1" for="f-from">
              From
            </label>
            <input class="form-control form-control-sm" type="date" id="f-from" value={filters.from} onChange={(e) => setFilters({ from: e.currentTarget.value })} />
          </div>
          <div class="col-sm-6 col-lg-3">
            <label class="form-label small mb-1" for="f-to">
              To
            </label>
            <input class="form-control form-control-sm" type="date" id="f-to" value={filters.to} onChange={(e) => setFilters({ to: e.currentTarget.value })} />
          </div>
        </div>
      </form>
      <div class="card border-0 shadow-sm">
        <DataTable<Activity>
          id="activities-table"
          caption="Activities"
          reloadKey={JSON.stringify(filters)}
          load={load}
          rowKey={(a) => a.id}
          empty="No activities match."
          columns={[
            { title: "When", class: "small text-nowrap", cell: (a) => when(a.occurred_at) },
            { title: "Type", cell: (a) => <ActivityBadge type={a.type} /> },
            {
              title: "What",
              cell: (a) => (
                <>
                  <span class="fw-semibold">{a.subject}</span>
                  {a.outcome && <div class="small text-body-secondary">{a.outcome}</div>}
                </>
              ),
            },
            {
              title: "About",
              class: "small",
              cell: (a) => (
                <span class="d-flex flex-wrap gap-1">
                  {a.related.map((r) => (
                    <a class="badge text-bg-light border text-decoration-none" href={`${RECORD_PAGES[r.kind]}/${r.id}`}>
                      {words(r.kind)}
                    </a>
                  ))}
                </span>
              ),
            },
            { title: "Owner", class: "small", cell: (a) => <UserName id={a.owner_id} /> },
          ]}
        />
      </div>
    </>
  );
}
