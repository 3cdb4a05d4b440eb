import { useRef, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import type { AccountView } from "../api/types";
import { AccountDialog } from "../components/AccountForm";
import { HealthBadge, LifecycleBadge } from "../components/Badges";
import { DataTable } from "../components/DataTable";
import { SelectField } from "../components/Form";
import { PageHeader } from "../components/PageHeader";
import { UserName, UserPicker } from "../components/People";
import { toast } from "../components/Toast";
import { rememberAccount } from "../lib/accounts";
import { ACCOUNT_TYPES, LIFECYCLES } from "../lib/format";
import { navigate } from "../lib/nav";
import { useQueryState } from "../lib/query";

const FILTERS = ["lifecycle", "type", "owner_id", "name"] as const;

// The accounts table: by name, filters kept in the URL, lifecycle and health at a glance.
export default function Accounts() {
  const [filters, setFilters] = useQueryState(FILTERS);
  const [name, setName] = useState(filters.name);
  const [creating, setCreating] = useState(false);
  const canWrite = session.value?.role !== "viewer";
  const debounce = useRef(0);

  const load = async (cursor: string | null) => {
    const query: Record<string, string | number> = { limit: 25 };
    for (const k of FILTERS) if (filters[k]) query[k] = filters[k];
    if (cursor) query.cursor = cursor;
    const { data, error } = await api.GET("/api/companies/{company_id}/customers", {
      params: { path: { company_id: companyId() }, query },
    });
    return data ?? error?.detail ?? "Could not load accounts.";
  };

  return (
    <>
      <PageHeader title="Accounts" note="Companies we sell to, by name">
        {canWrite && (
          <button class="btn btn-primary" id="new-account" onClick={() => setCreating(true)}>
            + New account
          </button>
        )}
      </PageHeader>
      <form class="card card-body border-0 shadow-sm mb-3" id="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="row g-2 align-items-end">
          <SelectField
            class="col-sm-6 col-lg-3"
            small
            name="lifecycle"
            id="f-lifecycle"
            label="Lifecycle"
            options={[["", "Any but inactive"], ...LIFECYCLES.map((l): [string, string] => [l, l])]}
            value={filters.lifecycle}
            onChange={(e) => setFilters({ lifecycle: e.currentTarget.value })}
          />
          <SelectField
            class="col-sm-6 col-lg-3"
            small
            name="type"
            id="f-type"
            label="Type"
            options={[["", "Any type"], ...ACCOUNT_TYPES.map((t): [string, string] => [t, t])]}
            value={filters.type}
            onChange={(e) => setFilters({ type: e.currentTarget.value })}
          />
          <div class="col-sm-6 col-lg-3">
            <label class="form-label small mb-1" for="f-name">
              Name starts with
            </label>
            <input
              class="form-control form-control-sm"
              id="f-name"
              placeholder="e.g. Acme"
              value={name}
              onInput={(e) => {
                const v = e.currentTarget.value;
                setName(v);
                clearTimeout(debounce.current);
                debounce.current = window.setTimeout(() => setFilters({ name: v.trim() }), 400);
              }}
            />
          </div>
          <div class="col-sm-6 col-lg-3">
            <UserPicker name="owner_id" label="Owner" value={filters.owner_id} small placeholder="Anyone" onChange={(id) => setFilters({ owner_id: id })} />
          </div>
        </div>
      </form>
      <div class="card border-0 shadow-sm">
        <DataTable<AccountView>
          id="accounts-table"
          caption="Accounts"
          reloadKey={JSON.stringify(filters)}
          load={load}
          // Each row is the account as its record page shows it: other pages name it from here.
          onPage={(items) => items.forEach(rememberAccount)}
          rowKey={(a) => a.id}
          rowAttrs={(a) => ({ "data-account-id": a.id })}
          empty={
            <>
              No accounts match. {canWrite && "Create one, or convert a qualified lead."}
            </>
          }
          columns={[
            {
              title: "Name",
              cell: (a) => (
                <>
                  <a class="fw-semibold text-decoration-none" href={`/accounts/${a.id}`}>
                    {a.name}
                  </a>
                  <div class="small text-body-secondary">{a.domain ?? ""}</div>
                </>
              ),
            },
            { title: "Lifecycle", cell: (a) => <LifecycleBadge lifecycle={a.lifecycle} /> },
            { title: "Health", cell: (a) => <HealthBadge score={a.health.score} band={a.health.band} /> },
            { title: "Type", class: "text-capitalize", cell: (a) => a.type },
            { title: "Industry", cell: (a) => a.industry ?? <span class="text-body-secondary">—</span> },
            { title: "Owner", class: "small", cell: (a) => <UserName id={a.owner_id} /> },
          ]}
        />
      </div>
      {creating && (
        <AccountDialog
          onClose={() => setCreating(false)}
          onSaved={(a) => {
            toast("Account created.");
            navigate(`/accounts/${a.id}`);
          }}
        />
      )}
    </>
  );
}
