// Deals: a table with filters in the URL, the Kanban board (drag a card, or move it from the
// keyboard), the forecast (per owner, against quotas, as of any past day, and what moved) and the
// monthly trends. Amounts stay per currency: nothing is summed across currencies.
import { useEffect, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import type { components } from "../api/schema";
import { AccountLink } from "../components/Accounts";
import { StageBadge } from "../components/Badges";
import { DataTable } from "../components/DataTable";
import { SelectField } from "../components/Form";
import { PageHeader } from "../components/PageHeader";
import { UserName, UserPicker } from "../components/People";
import { calendarDate, money, words } from "../lib/format";
import { useQueryState } from "../lib/query";
import { DealDialog } from "./DealForm";
import { Board } from "./DealBoard";
import { Forecast } from "./DealForecast";
import { Trends } from "./DealTrends";

type Opportunity = components["schemas"]["Opportunity"];

const KEYS = ["view", "stage", "owner_id", "forecast_category", "close_from", "close_to", "archived", "period", "as_of", "from", "to"] as const;
const VIEWS: [string, string][] = [
  ["table", "Table"],
  ["board", "Board"],
  ["forecast", "Forecast"],
  ["trends", "Trends"],
];
export const CATEGORY_LABELS: Record<string, string> = {
  pipeline: "Pipeline",
  best_case: "Best case",
  commit: "Commit",
  closed: "Closed",
  omitted: "Omitted",
};

/** A deal's amount, or a dash. */
export function Amount({ amount }: { amount?: Opportunity["amount"] }) {
  return amount ? <>{money(amount.value_minor, amount.currency)}</> : <span class="text-body-secondary">—</span>;
}

export function CategoryBadge({ category }: { category: string }) {
  return <span class={`badge category-${category}`}>{CATEGORY_LABELS[category] ?? words(category)}</span>;
}

export default function Deals() {
  const [q, setQ] = useQueryState(KEYS);
  const view = q.view || "table";
  const [creating, setCreating] = useState(false);
  const [reload, setReload] = useState(0);
  const canWrite = session.value?.role !== "viewer";
  return (
    <>
      <PageHeader title="Deals" note="Opportunities from first call to close">
        {canWrite && (
          <button class="btn btn-primary" id="new-deal" onClick={() => setCreating(true)}>
            + New deal
          </button>
        )}
      </PageHeader>
      <ul class="nav nav-tabs mb-3" role="tablist" aria-label="Deal views">
        {VIEWS.map(([key, label]) => (
          <li class="nav-item" role="presentation">
            <button
              class={`nav-link ${view === key ? "active" : ""}`}
              role="tab"
              id={`view-${key}`}
              aria-selected={view === key}
              onClick={() => setQ({ view: key })}
            >
              {label}
            </button>
          </li>
        ))}
      </ul>
      <div role="tabpanel" aria-labelledby={`view-${view}`}>
        {view === "table" && <DealTable q={q} setQ={setQ} reload={reload} />}
        {view === "board" && <Board reload={reload} />}
        {view === "forecast" && <Forecast q={q} setQ={setQ} />}
        {view === "trends" && <Trends />}
      </div>
      {creating && (
        <DealDialog
          onClose={() => setCreating(false)}
          onSaved={() => {
            setCreating(false);
            setReload((n) => n + 1);
          }}
        />
      )}
    </>
  );
}

function DealTable({ q, setQ, reload }: { q: Record<(typeof KEYS)[number], string>; setQ: (n: Partial<Record<(typeof KEYS)[number], string>>) => void; reload: number }) {
  const [stages, setStages] = useState<[string, string][]>([]);
  useEffect(() => {
    api.GET("/api/companies/{company_id}/deals/pipelines/{pipeline_id}", { params: { path: { company_id: companyId(), pipeline_id: "default" } } }).then(({ data }) => {
      if (data) setStages(data.stages.map((s) => [s.key, s.label]));
    });
  }, []);
  const filters = ["stage", "owner_id", "forecast_category", "close_from", "close_to", "archived"] as const;
  const load = async (cursor: string | null) => {
    const query: Record<string, string | number | boolean> = { limit: 25 };
    for (const k of filters) if (q[k]) query[k] = k === "archived" ? q[k] === "true" : q[k];
    if (cursor) query.cursor = cursor;
    const { data, error } = await api.GET("/api/companies/{company_id}/deals", { params: { path: { company_id: companyId() }, query } });
    return data ?? error?.detail ?? "Could not load deals.";
  };
  return (
    <>
      <form class="card card-body border-0 shadow-sm mb-3" id="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="row g-2 align-items-end">
          <SelectField class="col-sm-6 col-lg-2" small name="stage" id="f-stage" label="Stage" options={[["", "Any stage"], ...stages]} value={q.stage} onChange={(e) => setQ({ stage: e.currentTarget.value })} />
          <SelectField
            class="col-sm-6 col-lg-2"
            small
            name="forecast_category"
            id="f-category"
            label="Forecast category"
            options={[["", "Any"], ...Object.entries(CATEGORY_LABELS)]}
            value={q.forecast_category}
            onChange={(e) => setQ({ forecast_category: e.currentTarget.value })}
          />
          <div class="col-sm-6 col-lg-2">
            <label class="form-label small mb-1" for="f-close-from">
              Closing from
            </label>
            <input type="date" class="form-control form-control-sm" id="f-close-from" value={q.close_from} onChange={(e) => setQ({ close_from: e.currentTarget.value })} />
          </div>
          <div class="col-sm-6 col-lg-2">
            <label class="form-label small mb-1" for="f-close-to">
              to
            </label>
            <input type="date" class="form-control form-control-sm" id="f-close-to" value={q.close_to} onChange={(e) => setQ({ close_to: e.currentTarget.value })} />
          </div>
          <div class="col-sm-6 col-lg-2">
            <UserPicker name="owner_id" label="Owner" value={q.owner_id} small placeholder="Anyone" onChange={(id) => setQ({ owner_id: id })} />
          </div>
          <SelectField
            class="col-sm-6 col-lg-2"
            small
            name="archived"
            id="f-archived"
            label="Show"
            options={[
              ["", "Live deals"],
              ["true", "Archived deals"],
            ]}
            value={q.archived}
            onChange={(e) => setQ({ archived: e.currentTarget.value })}
          />
        </div>
      </form>
      <div class="card border-0 shadow-sm">
        <DataTable<Opportunity>
          id="deals-table"
          caption="Deals"
          reloadKey={JSON.stringify([q, reload])}
          load={load}
          rowKey={(d) => d.id}
          rowAttrs={(d) => ({ "data-deal-id": d.id })}
          empty={<>No deals match.</>}
          columns={[
            {
              title: "Deal",
              cell: (d) => (
                <>
                  <a class="fw-semibold text-decoration-none" href={`/deals/${d.id}`}>
                    {d.name}
                  </a>
                  <div class="small">
                    <AccountLink id={d.account_id} />
                  </div>
                </>
              ),
            },
            { title: "Stage", cell: (d) => <StageBadge stage={d.stage} /> },
            { title: "Amount", class: "text-end text-nowrap", cell: (d) => <Amount amount={d.amount} /> },
            { title: "Probability", class: "text-end", cell: (d) => `${d.probability} %` },
            { title: "Category", cell: (d) => <CategoryBadge category={d.forecast_category} /> },
            { title: "Closes", class: "text-nowrap", cell: (d) => calendarDate(d.close_date) },
            { title: "Owner", class: "small", cell: (d) => <UserName id={d.owner_id} /> },
          ]}
        />
      </div>
    </>
  );
}
