import { useEffect, useRef, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import { RoleBadge, UserStateBadge } from "../components/Badges";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Field, FormAlert, useForm, values } from "../components/Form";
import { Confirm } from "../components/Modal";
import { PageHeader } from "../components/PageHeader";
import { toast } from "../components/Toast";
import { useSubmissionKey } from "../lib/idempotency";
import { day, roleLabel, when } from "../lib/format";
import { loadUsers, users } from "../lib/users";

const ROLES = ["admin", "manager", "sales_rep", "viewer"];

function InviteForm() {
  const form = useForm();
  const [role, setRole] = useState("sales_rep");
  const key = useSubmissionKey();
  const ref = useRef<HTMLFormElement>(null);
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    try {
      const r = await api.POST("/api/companies/{company_id}/users", {
        params: { path: { company_id: companyId() }, header: { "Idempotency-Key": key.current() } },
        body: data as never,
      });
      key.answered();
      if (!r.data) return form.fail(r.error ?? {}, r.response);
      ref.current?.reset();
      setRole("sales_rep");
      form.done();
      toast(`${r.data.full_name} is invited: an email asks them to choose their password.`);
      void loadUsers(true);
    } catch {
      form.say("The server could not be reached. Try again: the invitation is sent once.");
    }
  };
  return (
    <form class="card card-body border-0 shadow-sm" id="add-user" noValidate onSubmit={submit} ref={ref}>
      <h2 class="h6 text-uppercase text-body-secondary">Invite a user</h2>
      <Field name="full_name" label="Name" id="u-full_name" error={form.errors.full_name} required />
      <Field name="email" label="Email" type="email" id="u-email" error={form.errors.email} required />
      <div class="mb-3">
        <label class="form-label" for="u-role">
          Role
        </label>
        <select class="form-select" id="u-role" name="role" value={role} onChange={(e) => setRole(e.currentTarget.value)}>
          {ROLES.map((r) => (
            <option value={r}>{roleLabel(r)}</option>
          ))}
        </select>
      </div>
      <div class="form-text mb-2">They get an email to choose their own password.</div>
      <FormAlert alert={form.alert} />
      <button class="btn btn-primary" type="submit" id="add-user-submit" disabled={form.busy}>
        Invite user
      </button>
    </form>
  );
}

// The company's users and their roles; administrators invite, change roles and deactivate.
export default function Users() {
  const admin = session.value?.role === "admin";
  const [deactivating, setDeactivating] = useState<{ id: string; name: string } | null>(null);
  const [promoting, setPromoting] = useState<{ id: string; name: string; role: string } | null>(null);
  useEffect(() => void loadUsers(true), []);
  const change = async (userId: string, body: { role?: string; active?: boolean }) => {
    const { error } = await api.PATCH("/api/companies/{company_id}/users/{user_id}", {
      params: { path: { company_id: companyId(), user_id: userId } },
      body: body as never,
    });
    if (error) toast(error.errors?.[0]?.message ?? error.detail ?? "Could not change the user.", "danger");
    else toast("Saved. Role changes apply from the user's next sign-in or token refresh.");
    void loadUsers(true);
  };
  const resend = async (userId: string) => {
    const { data, error } = await api.POST("/api/companies/{company_id}/users/{user_id}/invitation", {
      params: { path: { company_id: companyId(), user_id: userId } },
    });
    if (error) toast(error.errors?.[0]?.message ?? error.detail ?? "Could not send the invitation.", "danger");
    else toast(`A fresh invitation is on its way to ${data.email}.`);
  };
  const list = users.value;
  return (
    <>
      <PageHeader title="Users & roles" note="Who works in this company and what they may do" />
      <div class="row g-3">
        <div class={admin ? "col-xxl-8" : "col-12"}>
          <div class="card border-0 shadow-sm">
            {list === null ? (
              <Spinner label="Loading users" />
            ) : list.length === 0 ? (
              <ErrorNote>Could not load users.</ErrorNote>
            ) : (
              <div class="table-responsive">
                <table class="table align-middle mb-0" id="users-table">
                  <caption class="visually-hidden">Users</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Email</th>
                      <th scope="col">Role</th>
                      <th scope="col">Status</th>
                      <th scope="col">Since</th>
                      {admin && (
                        <th scope="col">
                          <span class="visually-hidden">Actions</span>
                        </th>
                      )}
                    </tr>
                  </thead>
                  <tbody id="user-rows">
                    {list.map((u) => (
                      <tr data-user-id={u.user_id}>
                        <td class="fw-semibold">{u.full_name}</td>
                        <td class="small">{u.email}</td>
                        <td>
                          {admin ? (
                            <select
                              class="form-select form-select-sm w-auto"
                              aria-label={`Role of ${u.full_name}`}
                              value={u.role}
                              onChange={(e) => setPromoting({ id: u.user_id, name: u.full_name, role: e.currentTarget.value })}
                            >
                              {ROLES.map((r) => (
                                <option value={r}>{roleLabel(r)}</option>
                              ))}
                            </select>
                          ) : (
                            <RoleBadge role={u.role} />
                          )}
                        </td>
                        <td>
                          <UserStateBadge active={u.active} invited={u.invitation_pending} />
                        </td>
                        <td class="small text-body-secondary text-nowrap" title={when(u.created_at)}>
                          {day(u.created_at)}
                        </td>
                        {admin && (
                          <td class="text-end text-nowrap">
                            {u.active && u.invitation_pending && (
                              <button class="btn btn-link btn-sm" onClick={() => void resend(u.user_id)}>
                                Resend invitation
                              </button>
                            )}
                            <button
                              class="btn btn-link btn-sm"
                              onClick={() =>
                                u.active ? setDeactivating({ id: u.user_id, name: u.full_name }) : void change(u.user_id, { active: true })
                              }
                            >
                              {u.active ? "Deactivate" : "Reactivate"}
                            </button>
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </div>
        </div>
        {admin && (
          <div class="col-xxl-4 col-lg-6">
            <InviteForm />
          </div>
        )}
      </div>
      {promoting && (
        <Confirm
          title={`Make ${promoting.name} ${roleLabel(promoting.role)}?`}
          text="What they may see and do changes from their next sign-in or token refresh; their current sessions end."
          action="Change role"
          tone="primary"
          onConfirm={() => {
            void change(promoting.id, { role: promoting.role });
            setPromoting(null);
          }}
          onClose={() => {
            setPromoting(null);
            void loadUsers(true);
          }}
        />
      )}
      {deactivating && (
        <Confirm
          title={`Deactivate ${deactivating.name}?`}
          text="They are signed out everywhere at once and cannot sign in until reactivated. Their records stay."
          action="Deactivate"
          onConfirm={() => {
            void change(deactivating.id, { active: false });
            setDeactivating(null);
          }}
          onClose={() => setDeactivating(null)}
        />
      )}
    </>
  );
}
