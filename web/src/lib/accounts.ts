// Accounts by id, read once and shared: lists that hold only an `account_id` (contacts, converted
// leads) show the account's name from here, one request per account rather than per row, and a
// record page that reads or changes an account puts the fresh copy here for everyone else.
import { signal } from "@preact/signals";
import { api, companyId, session } from "../api/client";
import type { AccountView } from "../api/types";

/** Each account asked for: its view, or null when it does not exist (or may not be read). */
export const accountsById = signal<ReadonlyMap<string, AccountView | null>>(new Map());
const inFlight = new Map<string, Promise<void>>();

function put(id: string, account: AccountView | null) {
  accountsById.value = new Map(accountsById.value).set(id, account);
}

/** Keeps what a page just read or saved. */
export function rememberAccount(account: AccountView) {
  put(account.id, account);
}

/**
 * Loads the accounts not known yet (or all of `ids` when `fresh`: the browser revalidates with the
 * ETag, so an unchanged account costs a 304).
 */
export function loadAccounts(ids: string[], fresh = false): Promise<void> {
  const company = companyId();
  const wanted = [...new Set(ids)].filter((id) => id && (fresh || !accountsById.value.has(id)));
  return Promise.all(
    wanted.map((id) => {
      let loading = inFlight.get(id);
      if (!loading) {
        loading = api
          .GET("/api/companies/{company_id}/customers/{account_id}", { params: { path: { company_id: company, account_id: id } } })
          .then(({ data, response }) => {
            if (data) put(id, data);
            else if (response.status === 404) put(id, null);
          })
          .catch(() => undefined)
          .finally(() => inFlight.delete(id));
        inFlight.set(id, loading);
      }
      return loading;
    }),
  ).then(() => undefined);
}

// Forget on sign-out: the next person may be of another company.
session.subscribe((s) => {
  if (!s) accountsById.value = new Map();
});
