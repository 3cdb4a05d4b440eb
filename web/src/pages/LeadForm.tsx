import { useEffect, useState } from "preact/hooks";
import { api, companyId, session, type Lead } from "../api/client";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Field, FormAlert, SelectField, useForm, values } from "../components/Form";
import { PageHeader } from "../components/PageHeader";
import { UserPicker } from "../components/People";
import { toast } from "../components/Toast";
import { useSubmissionKey } from "../lib/idempotency";
import { MANUAL_STATUSES } from "../lib/format";

/** The lead's status and the moves a person makes by editing; qualifying, disqualifying and
 * converting have their own actions on the lead's page. */
function statusChoices(current: string): string[] {
  return [current, ...MANUAL_STATUSES.filter((s) => s !== current)];
}
import { navigate } from "../lib/nav";

// name, label, section, required
const FIELDS: [string, string, string, boolean][] = [
  ["first_name", "First name", "Person", true],
  ["last_name", "Last name", "Person", true],
  ["email", "Email", "Person", false],
  ["phone", "Phone (international, e.g. +14155550123)", "Person", false],
  ["job_title", "Job title", "Person", false],
  ["company_name", "Company", "Company", false],
  ["website", "Website", "Company", false],
  ["source", "Source", "Attribution", true],
  ["campaign", "Campaign", "Attribution", true],
  ["medium", "Medium", "Attribution", true],
  ["budget", "Budget", "Qualification (BANT)", false],
  ["authority", "Authority", "Qualification (BANT)", false],
  ["need", "Need", "Qualification (BANT)", false],
  ["timeline", "Timeline", "Qualification (BANT)", false],
];
const SECTIONS = [...new Set(FIELDS.map((f) => f[2]))];

/** Capture a lead (no `id`) or edit one; the server's field errors show next to the fields. */
export default function LeadForm({ id }: { id?: string }) {
  const [lead, setLead] = useState<Lead | null | string>(id ? null : "new");
  const form = useForm();
  const key = useSubmissionKey();
  const [owner, setOwner] = useState("");
  const canWrite = session.value?.role !== "viewer";

  useEffect(() => {
    if (!id) return;
    void api
      .GET("/api/companies/{company_id}/leads/{lead_id}", { params: { path: { company_id: companyId(), lead_id: id } } })
      .then(({ data, error }) => {
        setLead(data ?? error?.detail ?? "This lead does not exist.");
        if (data) setOwner(data.owner_id);
      })
      .catch(() => setLead("The server could not be reached. Check your connection and reload."));
  }, [id]);
  if (lead === null) return <Spinner label="Loading the lead" />;
  if (typeof lead === "string" && lead !== "new") return <ErrorNote>{lead}</ErrorNote>;
  const current = typeof lead === "string" ? undefined : lead;
  const initial = (name: string) => String((current as Record<string, unknown> | undefined)?.[name] ?? "");

  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    try {
      if (!current) {
        const body = Object.fromEntries(Object.entries(data).filter(([, v]) => v.trim() !== ""));
        const r = await api.POST("/api/companies/{company_id}/leads", {
          params: { path: { company_id: companyId() }, header: { "Idempotency-Key": key.current() } },
          body: body as never,
        });
        key.answered();
        if (!r.data) {
          const existing = (r.error as { existing_id?: string } | undefined)?.existing_id;
          return form.fail(r.error ?? {}, r.response, existing && <a href={`/leads/${existing}`}>Open the existing lead</a>);
        }
        toast("Lead captured.");
        return navigate(`/leads/${r.data.id}`);
      }
      const body: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(data)) if (v !== initial(k)) body[k] = v.trim() === "" ? null : v;
      const r = await api.PATCH("/api/companies/{company_id}/leads/{lead_id}", {
        params: { path: { company_id: companyId(), lead_id: current.id }, header: { "If-Match": `"${current.version}"` } },
        body: body as never,
      });
      if (!r.data)
        return form.fail(
          r.error ?? {},
          r.response,
          r.response.status === 409 && (
            <button type="button" class="btn btn-link p-0 align-baseline" onClick={() => location.reload()}>
              Load the current version (your changes here are not kept)
            </button>
          ),
        );
      toast("Changes saved.");
      navigate(`/leads/${current.id}`);
    } catch {
      // No answer (the network): the same key goes with the retry, so it is applied once.
      form.say("The server could not be reached. Your input is kept: try again.");
    }
  };

  const title = current ? `${current.first_name} ${current.last_name}` : "New lead";
  if (!canWrite)
    return (
      <>
        <PageHeader title={title} />
        <div class="alert alert-info">Viewers read leads; capturing and editing them needs a sales rep, manager or administrator.</div>
      </>
    );
  return (
    <>
      <nav class="small mb-2" aria-label="Breadcrumb">
        <a href={current ? `/leads/${current.id}` : "/leads"} class="text-decoration-none">
          ← {current ? title : "Leads"}
        </a>
      </nav>
      <PageHeader title={current ? `Edit ${title}` : title} />
      <form id="lead-form" class="card border-0 shadow-sm" noValidate onSubmit={submit}>
        <div class="card-body">
          <FormAlert alert={form.alert} />
          {SECTIONS.map((section) => (
            <fieldset>
              <legend class="h6 text-uppercase text-body-secondary mt-2 mb-3">{section}</legend>
              <div class="row">
                {FIELDS.filter((f) => f[2] === section).map(([name, label, , required]) => (
                  <Field class="col-md-6 mb-3" name={name} label={label} required={required} defaultValue={initial(name)} error={form.errors[name]} />
                ))}
              </div>
            </fieldset>
          ))}
          <fieldset>
            <legend class="h6 text-uppercase text-body-secondary mt-2 mb-3">Ownership</legend>
            <div class="row">
              <div class="col-md-6 mb-3">
                <UserPicker name="owner_id" label="Owner" value={owner} onChange={setOwner} error={form.errors.owner_id} placeholder="You, unless you pick someone" />
              </div>
              {current && (
                <SelectField
                  class="col-md-6 mb-3"
                  name="status"
                  label="Status"
                  options={statusChoices(current.status).map((s) => [s, s])}
                  defaultValue={current.status}
                  error={form.errors.status}
                />
              )}
            </div>
          </fieldset>
          <div class="mb-3">
            <label class="form-label" for="notes">
              Notes
            </label>
            <textarea class={`form-control ${form.errors.notes ? "is-invalid" : ""}`} id="notes" name="notes" rows={3} defaultValue={initial("notes")} />
            <div class="invalid-feedback" data-error-for="notes">
              {form.errors.notes}
            </div>
          </div>
        </div>
        <div class="card-footer bg-body d-flex justify-content-end gap-2">
          <a class="btn btn-link" href={current ? `/leads/${current.id}` : "/leads"}>
            Cancel
          </a>
          <button class="btn btn-primary" type="submit" id="save" disabled={!canWrite || form.busy}>
            {form.busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
            {current ? "Save changes" : "Create lead"}
          </button>
        </div>
      </form>
    </>
  );
}
