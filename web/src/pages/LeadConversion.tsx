// Converting a qualified lead (account, contact and opportunity in one step), and what a converted
// lead shows of the records it became.
import { useEffect, useState } from "preact/hooks";
import { api, companyId, type Lead } from "../api/client";
import type { components } from "../api/schema";
import type { AccountOverview, ContactRole } from "../api/types";
import { AccountPicker } from "../components/Accounts";
import { LifecycleBadge } from "../components/Badges";
import { RolesField, tickedRoles } from "../components/ContactForm";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Field, FormAlert, SelectField, useForm, values } from "../components/Form";
import { Modal } from "../components/Modal";
import { UserName } from "../components/People";
import { Panel } from "../components/RecordPage";
import { toast } from "../components/Toast";
import { CURRENCIES, dayFromToday, money, OPEN_STAGES, toMinor, when, words } from "../lib/format";
import { navigate } from "../lib/nav";
import { Checklist } from "./LeadQualification";

type ConversionPreview = components["schemas"]["ConversionPreview"];
type ConversionPointers = components["schemas"]["ConversionPointers"];
type ConvertRequest = components["schemas"]["ConvertRequest"];

/** Which account the lead joins: a suggested one, another one picked by name, or a new one. */
function AccountChoice({ preview, target, onTarget, errors }: { preview: ConversionPreview; target: string; onTarget: (t: string) => void; errors: Record<string, string> }) {
  const [other, setOther] = useState("");
  const option = (value: string, label: preact.ComponentChildren) => (
    <div class="form-check mb-2">
      <input class="form-check-input" type="radio" name="target" id={`target-${value}`} value={value} checked={target === value} onChange={() => onTarget(value)} />
      <label class="form-check-label" for={`target-${value}`}>
        {label}
      </label>
    </div>
  );
  return (
    <fieldset class="mb-3">
      <legend class="h6">Account</legend>
      {preview.suggestions.map((s) =>
        option(
          s.account_id,
          <>
            Attach to <strong>{s.name}</strong> <LifecycleBadge lifecycle={s.lifecycle} />
            <span class="d-block small text-body-secondary">
              {s.matched_by === "domain" ? `Its email domain ${s.domain ?? ""} is the lead's` : "Its name matches the lead's company"} · owner <UserName id={s.owner_id} />
            </span>
          </>,
        ),
      )}
      {option("other", "Attach to another existing account")}
      {target === "other" && (
        <div class="ms-4 mb-2">
          <AccountPicker name="account_id" label="Which account" value={other} onChange={setOther} error={errors.account_id} />
        </div>
      )}
      {option(
        "new",
        <>
          Create a new account
          {preview.new_account_domain && <span class="d-block small text-body-secondary">with the email domain {preview.new_account_domain}</span>}
        </>,
      )}
      {target === "new" && (
        <div class="ms-4">
          <Field name="account.name" id="convert-account-name" label="Account name" required defaultValue={preview.new_account_name} error={errors["account.name"]} />
        </div>
      )}
    </fieldset>
  );
}

/** The request, from the form: what is left empty the lead (or the API's defaults) supplies. */
function convertBody(data: Record<string, string>, roles: ContactRole[]): ConvertRequest {
  const target = data.target;
  const currency = data["opportunity.amount.currency"];
  const minor = toMinor(data["opportunity.amount.value_minor"], currency);
  return {
    account_id: target === "new" ? undefined : target === "other" ? data.account_id : target,
    account: target === "new" ? { name: data["account.name"].trim() || null } : undefined,
    contact: roles.length ? { roles } : undefined,
    opportunity: {
      name: data["opportunity.name"].trim() || null,
      amount: minor === null ? null : { value_minor: minor, currency },
      close_date: data["opportunity.close_date"] || null,
      stage: data["opportunity.stage"],
    },
  };
}

/** Converts the lead; on success, the new (or joined) account's page. */
export function ConvertDialog({ lead, onClose }: { lead: Lead; onClose: () => void }) {
  const [preview, setPreview] = useState<ConversionPreview | string | null>(null);
  const [target, setTarget] = useState("new");
  const form = useForm();
  useEffect(() => {
    void api
      .GET("/api/companies/{company_id}/leads/{lead_id}/conversion-preview", { params: { path: { company_id: companyId(), lead_id: lead.id } } })
      .then(({ data, error }) => {
        setPreview(data ?? error?.detail ?? "Could not prepare the conversion.");
        // A domain match is most likely the same company: offer it first.
        if (data?.suggestions[0]?.matched_by === "domain") setTarget(data.suggestions[0].account_id);
      })
      .catch(() => setPreview("The server could not be reached. Check your connection and try again."));
  }, [lead.id]);
  const submit = async (e: Event) => {
    const body = convertBody(values(e), tickedRoles(e.currentTarget as HTMLFormElement));
    form.start();
    try {
      const r = await api.POST("/api/companies/{company_id}/leads/{lead_id}/convert", {
        params: { path: { company_id: companyId(), lead_id: lead.id } },
        body,
      });
      if (!r.data) return form.fail(r.error ?? {}, r.response);
      toast(r.data.account_created ? "Converted: a new account, its contact and an opportunity." : "Converted into the existing account, with a contact and an opportunity.");
      navigate(`/accounts/${r.data.account_id}`);
    } catch {
      // Converting twice is harmless (the API answers the first conversion), so a retry is safe.
      form.say("The server could not be reached. Your input is kept: try again.");
    }
  };
  const ready = preview !== null && typeof preview !== "string" && preview.eligible;
  const accountName =
    !ready || target === "other" ? "the account's name" : target === "new" ? preview.new_account_name : (preview.suggestions.find((s) => s.account_id === target)?.name ?? "");
  return (
    <Modal
      title={`Convert ${lead.first_name} ${lead.last_name}`}
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={onClose}>
            {ready ? "Cancel" : "Close"}
          </button>
          {ready && (
            <button type="submit" class="btn btn-success" form="convert-form" id="convert-submit" disabled={form.busy}>
              {form.busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
              Convert
            </button>
          )}
        </>
      }
    >
      {preview === null ? (
        <Spinner label="Preparing the conversion" />
      ) : typeof preview === "string" ? (
        <ErrorNote>{preview}</ErrorNote>
      ) : !preview.eligible ? (
        <div id="convert-blocked">
          <p>Only a qualified lead converts. What is missing:</p>
          <Checklist conditions={preview.conversion_eligibility.filter((c) => !c.met)} id="convert-unmet" />
        </div>
      ) : (
        <form id="convert-form" noValidate onSubmit={submit}>
          <p class="text-body-secondary">
            One step makes the account (or joins an existing one), a contact from the lead and an opportunity. The lead keeps all its data.
          </p>
          <FormAlert alert={form.alert} />
          <AccountChoice preview={preview} target={target} onTarget={setTarget} errors={form.errors} />
          <fieldset class="mb-2">
            <legend class="h6">Contact</legend>
            <p class="small text-body-secondary mb-2">
              {lead.first_name} {lead.last_name}, from the lead's details.
            </p>
            <RolesField error={form.errors["contact.roles"]} idPrefix="convert-role" />
          </fieldset>
          <fieldset>
            <legend class="h6">Opportunity</legend>
            <div class="row">
              <Field
                class="col-md-6 mb-3"
                name="opportunity.name"
                id="convert-opportunity-name"
                label="Name"
                hint={`Left empty: “${accountName} – new business”.`}
                error={form.errors["opportunity.name"]}
              />
              <SelectField
                class="col-md-6 mb-3"
                name="opportunity.stage"
                id="convert-stage"
                label="Stage"
                options={OPEN_STAGES.map((s) => [s, words(s)])}
                defaultValue="qualification"
                error={form.errors["opportunity.stage"]}
              />
              <Field
                class="col-7 col-md-4 mb-3"
                name="opportunity.amount.value_minor"
                id="convert-amount"
                label="Amount"
                type="number"
                min={0}
                step={0.01}
                placeholder="e.g. 12500"
                error={form.errors["opportunity.amount.value_minor"]}
              />
              <SelectField
                class="col-5 col-md-2 mb-3"
                name="opportunity.amount.currency"
                id="convert-currency"
                label="Currency"
                options={CURRENCIES.map((c) => [c, c])}
                error={form.errors["opportunity.amount.currency"]}
              />
              <Field class="col-md-6 mb-3" name="opportunity.close_date" id="convert-close-date" label="Expected close" type="date" defaultValue={dayFromToday(90)} error={form.errors["opportunity.close_date"]} />
            </div>
          </fieldset>
        </form>
      )}
    </Modal>
  );
}

/** A converted lead: the account, contact and opportunity it became, by name. */
export function ConversionPanel({ conversion }: { conversion: ConversionPointers }) {
  const [overview, setOverview] = useState<AccountOverview | null>(null);
  useEffect(() => {
    void api
      .GET("/api/companies/{company_id}/customers/{account_id}/overview", { params: { path: { company_id: companyId(), account_id: conversion.account_id } } })
      .then(({ data }) => data && setOverview(data))
      .catch(() => undefined);
  }, [conversion.account_id]);
  const contact = overview?.contacts.find((c) => c.contact_id === conversion.contact_id);
  const deal = overview?.open_opportunities.find((o) => o.opportunity_id === conversion.opportunity_id);
  return (
    <Panel title="Converted" id="conversion">
      <p class="small text-body-secondary">
        Converted by <UserName id={conversion.converted_by} /> on {when(conversion.converted_at)}. The lead keeps its data; the work goes on in these records.
      </p>
      <dl class="row mb-0">
        <dt class="col-sm-3 fw-normal text-body-secondary">Account</dt>
        <dd class="col-sm-9">
          <a href={`/accounts/${conversion.account_id}`} id="converted-account">
            {overview?.account.name ?? "The account"}
          </a>
        </dd>
        <dt class="col-sm-3 fw-normal text-body-secondary">Contact</dt>
        <dd class="col-sm-9">
          <a href={`/contacts/${conversion.contact_id}`} id="converted-contact">
            {contact ? `${contact.first_name} ${contact.last_name}` : "The contact"}
          </a>
        </dd>
        <dt class="col-sm-3 fw-normal text-body-secondary">Opportunity</dt>
        {/* Deals have no page yet: the account's page lists its open ones. */}
        <dd class="col-sm-9" id="converted-opportunity" title={conversion.opportunity_id}>
          {deal ? (
            <>
              {deal.name}
              {deal.amount && <span class="text-body-secondary"> · {money(deal.amount.value_minor, deal.amount.currency)}</span>}
            </>
          ) : (
            <span class="text-body-secondary">No longer open</span>
          )}
        </dd>
      </dl>
    </Panel>
  );
}
