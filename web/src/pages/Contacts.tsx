import { useRef, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { Contact } from "../api/types";
import { AccountLink, AccountPicker } from "../components/Accounts";
import { ContactRoles } from "../components/Badges";
import { DataTable } from "../components/DataTable";
import { SelectField } from "../components/Form";
import { PageHeader } from "../components/PageHeader";
import { UserName } from "../components/People";
import { CONTACT_ROLES, words } from "../lib/format";
import { useQueryState } from "../lib/query";

const FILTERS = ["role", "name", "account_id"] as const;

// The people at our accounts, by last name: roles and account at a glance, filters in the URL.
export default function Contacts() {
  const [filters, setFilters] = useQueryState(FILTERS);
  const [name, setName] = useState(filters.name);
  const debounce = useRef(0);

  const load = async (cursor: string | null) => {
    const query: Record<string, string | number> = { limit: 25 };
    for (const k of FILTERS) if (filters[k]) query[k] = filters[k];
    if (cursor) query.cursor = cursor;
    const { data, error } = await api.GET("/api/companies/{company_id}/contacts", {
      params: { path: { company_id: companyId() }, query },
    });
    return data ?? error?.detail ?? "Could not load contacts.";
  };

  return (
    <>
      <PageHeader title="Contacts" note="People at our accounts, by last name. Add them from their account's page." />
      <form class="card card-body border-0 shadow-sm mb-3" id="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="row g-2 align-items-end">
          <SelectField
            class="col-sm-6 col-lg-4"
            small
            name="role"
            id="f-role"
            label="Role"
            options={[["", "Any role"], ...CONTACT_ROLES.map((r): [string, string] => [r, words(r)])]}
            value={filters.role}
            onChange={(e) => setFilters({ role: e.currentTarget.value })}
          />
          <div class="col-sm-6 col-lg-4">
            <label class="form-label small mb-1" for="f-name">
              Last name starts with
            </label>
            <input
              class="form-control form-control-sm"
              id="f-name"
              placeholder="e.g. Silva"
              value={name}
              onInput={(e) => {
                const v = e.currentTarget.value;
                setName(v);
                clearTimeout(debounce.current);
                debounce.current = window.setTimeout(() => setFilters({ name: v.trim() }), 400);
              }}
            />
          </div>
          <div class="col-sm-6 col-lg-4">
            <AccountPicker name="account_id" label="Account" value={filters.account_id} small placeholder="Any account" onChange={(id) => setFilters({ account_id: id })} />
          </div>
        </div>
      </form>
      <div class="card border-0 shadow-sm">
        <DataTable<Contact>
          id="contacts-table"
          caption="Contacts"
          reloadKey={JSON.stringify(filters)}
          load={load}
          rowKey={(c) => c.id}
          rowAttrs={(c) => ({ "data-contact-id": c.id })}
          empty="No contacts match."
          columns={[
            {
              title: "Name",
              cell: (c) => (
                <>
                  <a class="fw-semibold text-decoration-none" href={`/contacts/${c.id}`}>
                    {c.first_name} {c.last_name}
                  </a>
                  <div class="small text-body-secondary">{c.job_title ?? ""}</div>
                </>
              ),
            },
            // Names come from the shared account cache: one request per account, not per row.
            { title: "Account", cell: (c) => <AccountLink id={c.account_id} /> },
            { title: "Roles", cell: (c) => <ContactRoles roles={c.roles} primary={c.primary} /> },
            {
              title: "Contact",
              class: "small",
              cell: (c) => (
                <>
                  {c.email ?? ""}
                  <div class="text-body-secondary">{c.phone ?? ""}</div>
                </>
              ),
            },
            { title: "Owner", class: "small", cell: (c) => <UserName id={c.owner_id} /> },
          ]}
        />
      </div>
    </>
  );
}
