// Creating an account, or editing one, in a dialog. Lifecycle moves and deactivation are actions of
// their own on the account's page, not fields here.
import { useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { AccountView } from "../api/types";
import { useSubmissionKey } from "../lib/idempotency";
import { ACCOUNT_SIZES, ACCOUNT_TYPES } from "../lib/format";
import { Field, FormAlert, SelectField, useForm, values } from "./Form";
import { Modal } from "./Modal";
import { UserPicker } from "./People";

type TextField = "name" | "industry" | "website" | "domain";
const FIELDS: [TextField, string, boolean, string?][] = [
  ["name", "Name", true],
  ["industry", "Industry", false],
  ["website", "Website", false, "url"],
  ["domain", "Email domain (taken from the website when left empty)", false],
];

/** A new account (no `account`), or an edit of `account`; `onSaved` gets the account as stored. */
export function AccountDialog({ account, onSaved, onClose }: { account?: AccountView; onSaved: (a: AccountView) => void; onClose: () => void }) {
  const form = useForm();
  const key = useSubmissionKey();
  const [owner, setOwner] = useState(account?.owner_id ?? "");
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    try {
      if (!account) {
        const body = Object.fromEntries(Object.entries(data).filter(([, v]) => v.trim() !== ""));
        const r = await api.POST("/api/companies/{company_id}/customers", {
          params: { path: { company_id: companyId() }, header: { "Idempotency-Key": key.current() } },
          body: body as never,
        });
        key.answered();
        return r.data ? onSaved(r.data) : form.fail(r.error ?? {}, r.response);
      }
      // Only what changed is sent; an emptied optional field is cleared.
      const body: Record<string, string | null> = {};
      for (const [name, value] of Object.entries(data)) {
        if (value.trim() !== String(account[name as keyof AccountView] ?? "")) body[name] = value.trim() || null;
      }
      const r = await api.PATCH("/api/companies/{company_id}/customers/{account_id}", {
        params: { path: { company_id: companyId(), account_id: account.id }, header: { "If-Match": `"${account.version}"` } },
        body: body as never,
      });
      if (r.data) return onSaved(r.data);
      form.fail(r.error ?? {}, r.response, r.response.status === 409 && "Someone changed this account meanwhile: close this, and edit the current version.");
    } catch {
      // No answer (the network): the same key goes with the retry, so the account is created once.
      form.say("The server could not be reached. Your input is kept: try again.");
    }
  };
  return (
    <Modal
      title={account ? `Edit ${account.name}` : "New account"}
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" form="account-form" id="account-save" disabled={form.busy}>
            {form.busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
            {account ? "Save changes" : "Create account"}
          </button>
        </>
      }
    >
      <form id="account-form" noValidate onSubmit={submit}>
        <FormAlert alert={form.alert} />
        <div class="row">
          {FIELDS.map(([name, label, required, type]) => (
            <Field
              class="col-md-6 mb-3"
              name={name}
              id={`account-${name}`}
              label={label}
              required={required}
              type={type}
              defaultValue={account?.[name] ?? ""}
              error={form.errors[name]}
            />
          ))}
          <SelectField
            class="col-md-6 mb-3"
            name="type"
            id="account-type"
            label="Type"
            options={ACCOUNT_TYPES.map((t) => [t, t])}
            defaultValue={account?.type ?? "prospect"}
            error={form.errors.type}
          />
          <SelectField
            class="col-md-6 mb-3"
            name="size"
            id="account-size"
            label="Size (people)"
            options={[["", "Not known"], ...ACCOUNT_SIZES.map((s): [string, string] => [s, s])]}
            defaultValue={account?.size ?? ""}
            error={form.errors.size}
          />
          <div class="col-md-6 mb-3">
            <UserPicker name="owner_id" label="Owner" value={owner} onChange={setOwner} error={form.errors.owner_id} placeholder="You, unless you pick someone" />
          </div>
        </div>
      </form>
    </Modal>
  );
}
