// The company's users, read once per session and shared: owners, actors and creators are shown
// by name (ids stay in tooltips), and the user picker searches them.
import { computed, signal } from "@preact/signals";
import { api, companyId, session, type UserView } from "../api/client";

export const users = signal<UserView[] | null>(null);
let loading: Promise<void> | null = null;
let loadedFor = "";

export function loadUsers(force = false): Promise<void> {
  const company = companyId();
  if (!company) return Promise.resolve();
  if (!force && loadedFor === company && (users.value || loading)) return loading ?? Promise.resolve();
  loadedFor = company;
  loading = api
    .GET("/api/companies/{company_id}/users", { params: { path: { company_id: company } } })
    .then(({ data }) => {
      if (data) users.value = data.items;
    })
    .finally(() => (loading = null));
  return loading;
}

export const usersById = computed(() => new Map((users.value ?? []).map((u) => [u.user_id, u])));

/** Forget on sign-out: the next person may be of another company. */
export function forgetUsers() {
  users.value = null;
  loadedFor = "";
}

session.subscribe((s) => {
  if (!s) forgetUsers();
});
