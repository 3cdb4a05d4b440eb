// A new deal on an account, or an edit of one, in a dialog. Stages move through the board or the
// record's "Move to"; a closed deal keeps its amount and close date, so those fields are not offered.
import { useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { AccountPicker } from "../components/Accounts";
import { Field, FormAlert, SelectField, useForm, values } from "../components/Form";
import { Modal } from "../components/Modal";
import { UserPicker } from "../components/People";
import { CURRENCIES, OPEN_STAGES, dayFromToday, toMinor, words } from "../lib/format";
import { useSubmissionKey } from "../lib/idempotency";
import { CATEGORY_LABELS } from "./Deals";

type Opportunity = components["schemas"]["Opportunity"];

const digits = (currency: string) => new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;

export function DealDialog({ deal, accountId, onSaved, onClose }: { deal?: Opportunity; accountId?: string; onSaved: (d: Opportunity) => void; onClose: () => void }) {
  const form = useForm();
  const key = useSubmissionKey();
  const [account, setAccount] = useState(deal?.account_id ?? accountId ?? "");
  const [owner, setOwner] = useState(deal?.owner_id ?? "");
  const closed = deal && deal.status !== "open";
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    const currency = data.currency || "EUR";
    const minor = toMinor(data.amount ?? "", currency);
    if (data.amount?.trim() && minor === null) return form.fail({ errors: [{ field: "amount.value_minor", message: "must be a number like 12500.50" }] });
    const body: Record<string, unknown> = { name: data.name };
    if (minor !== null && !closed) body.amount = { value_minor: minor, currency };
    if (data.close_date && !closed) body.close_date = data.close_date;
    if (data.next_step !== undefined) body.next_step = data.next_step;
    if (owner) body.owner_id = owner;
    try {
      if (!deal) {
        Object.assign(body, { account_id: account, stage: data.stage });
        const r = await api.POST("/api/companies/{company_id}/deals", {
          params: { path: { company_id: companyId() }, header: { "Idempotency-Key": key.current() } },
          body: body as never,
        });
        key.answered();
        return r.data ? onSaved(r.data) : form.fail(r.error ?? {}, r.response);
      }
      if (data.forecast_category && !closed) body.forecast_category = data.forecast_category;
      const r = await api.PATCH("/api/companies/{company_id}/deals/{deal_id}", {
        params: { path: { company_id: companyId(), deal_id: deal.id }, header: { "If-Match": `"${deal.version}"` } },
        body: body as never,
      });
      if (r.data) return onSaved(r.data);
      form.fail(r.error ?? {}, r.response, r.response.status === 409 && "Someone changed this deal meanwhile: close this, and edit the current version.");
    } catch {
      form.say("The server could not be reached. Your input is kept: try again.");
    }
  };
  const amount = deal?.amount ? String(deal.amount.value_minor / 10 ** digits(deal.amount.currency)) : "";
  return (
    <Modal
      title={deal ? `Edit ${deal.name}` : "New deal"}
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" form="deal-form" id="deal-save" disabled={form.busy}>
            {form.busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
            {deal ? "Save changes" : "Create deal"}
          </button>
        </>
      }
    >
      <form id="deal-form" noValidate onSubmit={submit}>
        <FormAlert alert={form.alert} />
        <div class="row">
          <Field class="col-md-6 mb-3" name="name" id="deal-name" label="Name" required defaultValue={deal?.name ?? ""} error={form.errors.name} />
          {!deal && (
            <div class="col-md-6 mb-3">
              <AccountPicker name="account_id" label="Account" value={account} onChange={setAccount} error={form.errors.account_id} />
            </div>
          )}
          {!closed && (
            <>
              <Field class="col-md-4 mb-3" name="amount" id="deal-amount" label="Amount" type="number" step={0.01} min={0} defaultValue={amount} error={form.errors["amount.value_minor"]} />
              <SelectField
                class="col-md-2 mb-3"
                name="currency"
                id="deal-currency"
                label="Currency"
                options={CURRENCIES.map((c) => [c, c])}
                defaultValue={deal?.amount?.currency ?? "EUR"}
                error={form.errors["amount.currency"]}
              />
              <Field class="col-md-6 mb-3" name="close_date" id="deal-close-date" label="Expected close" type="date" required={!deal} defaultValue={deal?.close_date ?? dayFromToday(90)} error={form.errors.close_date} />
            </>
          )}
          {!deal && (
            <SelectField class="col-md-6 mb-3" name="stage" id="deal-stage" label="Stage" options={OPEN_STAGES.map((s) => [s, words(s)])} defaultValue="prospecting" error={form.errors.stage} />
          )}
          {deal && !closed && (
            <SelectField
              class="col-md-6 mb-3"
              name="forecast_category"
              id="deal-category"
              label="Forecast category"
              hint="An open deal may be forecast as pipeline, best case or commit, whatever its stage says."
              options={["pipeline", "best_case", "commit"].map((c) => [c, CATEGORY_LABELS[c]])}
              defaultValue={deal.forecast_category}
              error={form.errors.forecast_category}
            />
          )}
          <Field class="col-md-6 mb-3" name="next_step" id="deal-next-step" label="Next step" defaultValue={deal?.next_step ?? ""} error={form.errors.next_step} />
          <div class="col-md-6 mb-3">
            <UserPicker name="owner_id" label="Owner" value={owner} onChange={setOwner} error={form.errors.owner_id} placeholder="You, unless you pick someone" />
          </div>
        </div>
      </form>
    </Modal>
  );
}
