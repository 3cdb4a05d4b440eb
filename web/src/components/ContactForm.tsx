// Adding a contact to an account, or editing one (moving it to another account, its roles, making
// it the account's primary contact): the same form, in a dialog.
import { useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { Contact, ContactRole } from "../api/types";
import { CONTACT_ROLES, sentenceCase } from "../lib/format";
import { AccountPicker } from "./Accounts";
import { Field, FormAlert, useForm, values } from "./Form";
import { Modal } from "./Modal";
import { UserPicker } from "./People";

/** The contact roles as checkboxes; the form gets each ticked one under `roles`. */
export function RolesField({ initial = [], error, idPrefix }: { initial?: string[]; error?: string; idPrefix: string }) {
  return (
    <fieldset class="mb-3">
      <legend class="form-label fs-6 mb-1">Roles in buying</legend>
      <div class="d-flex flex-wrap gap-3">
        {CONTACT_ROLES.map((r) => (
          <div class="form-check">
            <input class="form-check-input" type="checkbox" name="roles" value={r} id={`${idPrefix}-${r}`} defaultChecked={initial.includes(r)} />
            <label class="form-check-label" for={`${idPrefix}-${r}`}>
              {sentenceCase(r)}
            </label>
          </div>
        ))}
      </div>
      <div class={`invalid-feedback ${error ? "d-block" : ""}`} data-error-for="roles">
        {error}
      </div>
    </fieldset>
  );
}

/** The roles ticked in a submitted form. */
export const tickedRoles = (form: HTMLFormElement) => new FormData(form).getAll("roles") as ContactRole[];

type TextField = "first_name" | "last_name" | "email" | "phone" | "job_title";
const FIELDS: [TextField, string, boolean, string?][] = [
  ["first_name", "First name", true],
  ["last_name", "Last name", true],
  ["email", "Email", false, "email"],
  ["phone", "Phone (international, e.g. +14155550123)", false, "tel"],
  ["job_title", "Job title", false],
];

/** New contact of `accountId`, or an edit of `contact`; `onSaved` gets the contact as stored. */
export function ContactDialog({
  contact,
  accountId,
  onSaved,
  onClose,
}: {
  contact?: Contact;
  accountId?: string;
  onSaved: (c: Contact) => void;
  onClose: () => void;
}) {
  const form = useForm();
  const [account, setAccount] = useState(contact?.account_id ?? accountId ?? "");
  const [owner, setOwner] = useState(contact?.owner_id ?? "");
  const submit = async (e: Event) => {
    const element = e.currentTarget as HTMLFormElement;
    const data = values(e);
    const roles = tickedRoles(element);
    const primary = data.primary === "on";
    form.start();
    try {
      if (!contact) {
        const body: Record<string, unknown> = { account_id: account, roles, primary };
        for (const [name] of FIELDS) if (data[name].trim()) body[name] = data[name].trim();
        const r = await api.POST("/api/companies/{company_id}/contacts", { params: { path: { company_id: companyId() } }, body: body as never });
        return r.data ? onSaved(r.data) : form.fail(r.error ?? {}, r.response);
      }
      // Only what changed is sent; an emptied optional field is cleared.
      const body: Record<string, unknown> = {};
      for (const [name] of FIELDS) if (data[name].trim() !== (contact[name] ?? "")) body[name] = data[name].trim() || null;
      if (roles.join() !== contact.roles.join()) body.roles = roles;
      if (primary && !contact.primary) body.primary = true;
      if (account !== contact.account_id) body.account_id = account;
      if (owner && owner !== contact.owner_id) body.owner_id = owner;
      const r = await api.PATCH("/api/companies/{company_id}/contacts/{contact_id}", {
        params: { path: { company_id: companyId(), contact_id: contact.id }, header: { "If-Match": `"${contact.version}"` } },
        body: body as never,
      });
      if (r.data) return onSaved(r.data);
      form.fail(
        r.error ?? {},
        r.response,
        r.response.status === 409 && "Someone changed this contact meanwhile: close this, and edit the current version.",
      );
    } catch {
      form.say("The server could not be reached. Your input is kept: try again.");
    }
  };
  return (
    <Modal
      title={contact ? `Edit ${contact.first_name} ${contact.last_name}` : "Add a contact"}
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" form="contact-form" id="contact-save" disabled={form.busy}>
            {form.busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
            {contact ? "Save changes" : "Add contact"}
          </button>
        </>
      }
    >
      <form id="contact-form" noValidate onSubmit={submit}>
        <FormAlert alert={form.alert} />
        <div class="row">
          {FIELDS.map(([name, label, required, type]) => (
            <Field
              class="col-md-6 mb-3"
              name={name}
              id={`contact-${name}`}
              label={label}
              required={required}
              type={type}
              defaultValue={contact?.[name] ?? ""}
              error={form.errors[name]}
            />
          ))}
        </div>
        <RolesField initial={contact?.roles} error={form.errors.roles} idPrefix="contact-role" />
        <div class="form-check mb-3">
          {/* The primary contact stays primary until another one is made primary. */}
          <input
            class="form-check-input"
            type="checkbox"
            name="primary"
            id="contact-primary"
            defaultChecked={contact?.primary}
            disabled={contact?.primary}
            aria-describedby="contact-primary-hint"
          />
          <label class="form-check-label" for="contact-primary">
            The account's primary contact
          </label>
          <div class="form-text" id="contact-primary-hint">
            {contact?.primary ? "To change it, make another contact of the account primary." : "The one the account's correspondence goes to; the account's first contact is it."}
          </div>
          <div class={`invalid-feedback ${form.errors.primary ? "d-block" : ""}`} data-error-for="primary">
            {form.errors.primary}
          </div>
        </div>
        {contact && (
          <div class="row">
            <div class="col-md-6 mb-3">
              <AccountPicker name="account_id" label="Account (choose another to move the contact)" value={account} onChange={setAccount} error={form.errors.account_id} />
            </div>
            <div class="col-md-6 mb-3">
              <UserPicker name="owner_id" label="Owner" value={owner} onChange={setOwner} error={form.errors.owner_id} />
            </div>
          </div>
        )}
      </form>
    </Modal>
  );
}
