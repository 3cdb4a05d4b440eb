// The company's data governance policy (administrators): what each channel needs before a
// message goes out. Versioned: saving on a stale copy says so and shows the current one.
import { useEffect, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { ErrorNote, Spinner } from "../components/Feedback";
import { FormAlert, SelectField, useForm, values } from "../components/Form";
import { PageHeader } from "../components/PageHeader";
import { toast } from "../components/Toast";
import { when } from "../lib/format";
import { UserName } from "../components/People";

type Policy = components["schemas"]["GovernancePolicy"];

const CHANNELS: { key: "email" | "whatsapp" | "phone" | "sms"; label: string; note: string }[] = [
  { key: "email", label: "Email", note: "Business email may go to people who never objected, where the law allows it." },
  { key: "whatsapp", label: "WhatsApp", note: "WhatsApp's Business policy allows messages only to people who opted in." },
  { key: "phone", label: "Phone calls", note: "Calls to people who did not object, unless a register forbids it." },
  { key: "sms", label: "SMS", note: "Most countries ask for an opt-in before marketing texts." },
];
const REQUIREMENTS: [string, string][] = [
  ["opt_in", "Only after they opted in"],
  ["not_withdrawn", "Unless they withdrew"],
];

export default function Governance() {
  const [policy, setPolicy] = useState<Policy | null | string>(null);
  const form = useForm();
  const path = { company_id: companyId() };
  const load = () =>
    void api
      .GET("/api/companies/{company_id}/data/governance/policies", { params: { path } })
      .then(({ data, error }) => setPolicy(data ?? error?.detail ?? "The policy could not be read."));
  useEffect(load, []);
  if (policy === null) return <Spinner label="Loading the policy" />;
  if (typeof policy === "string") return <ErrorNote>{policy}</ErrorNote>;
  const save = async (e: Event) => {
    const data = values(e);
    form.start();
    const consent = Object.fromEntries(CHANNELS.map((c) => [c.key, data[c.key]]));
    const r = await api.PUT("/api/companies/{company_id}/data/governance/policies", {
      params: { path },
      body: { version: policy.version, consent },
    });
    if (!r.data) {
      if (r.response.status === 409) load();
      return form.fail(r.error ?? {}, r.response, r.response.status === 409 ? "The current policy is shown: check it and save again." : undefined);
    }
    form.done();
    setPolicy(r.data);
    toast("Policy saved. It applies from the next message on.");
  };
  return (
    <>
      <PageHeader
        title="Data governance"
        note={
          policy.updated_at ? (
            <>
              Version {policy.version}, saved {when(policy.updated_at)} by <UserName id={policy.updated_by ?? ""} />
            </>
          ) : (
            "Keel's defaults: nobody has changed them yet."
          )
        }
      />
      <section class="card border-0 shadow-sm" aria-labelledby="consent-policy-title">
        <div class="card-body">
          <h2 class="h6 text-uppercase text-body-secondary" id="consent-policy-title">
            Consent before a message goes out
          </h2>
          <p class="small text-body-secondary">
            Each lead's consent panel shows, per channel, whether a message may go out under this policy; outbound messages check
            it right before they are sent. A withdrawal always stops them.
          </p>
          <form id="consent-policy" noValidate onSubmit={save} key={policy.version}>
            <div class="row g-3">
              {CHANNELS.map((c) => (
                <div class="col-md-6" key={c.key}>
                  <SelectField
                    class="mb-1"
                    name={c.key}
                    id={`policy-${c.key}`}
                    label={c.label}
                    options={c.key === "whatsapp" ? REQUIREMENTS.slice(0, 1) : REQUIREMENTS}
                    defaultValue={policy.consent[c.key]}
                    error={form.errors[`consent.${c.key}`]}
                    hint={c.note}
                  />
                </div>
              ))}
            </div>
            <FormAlert alert={form.alert} />
            <button class="btn btn-primary mt-3" type="submit" id="save-policy" disabled={form.busy}>
              Save policy
            </button>
          </form>
        </div>
      </section>
    </>
  );
}
