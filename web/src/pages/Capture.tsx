// Capture channels: the company's website forms (a builder with a live preview and the snippet to
// paste into a page), bulk import from files (./Import) and the WhatsApp channel (the webhook
// address and its secrets).
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import type { components } from "../api/schema";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Field, FormAlert, SelectField, useForm } from "../components/Form";
import { Confirm } from "../components/Modal";
import { PageHeader } from "../components/PageHeader";
import { ImportTab } from "./Import";
import { UserName, UserPicker } from "../components/People";
import { toast } from "../components/Toast";
import { ago, when } from "../lib/format";
import { useQueryState } from "../lib/query";

type Form = components["schemas"]["Form"];
type FormField = components["schemas"]["FormField"];
type FieldName = FormField["name"];
type Channel = components["schemas"]["WhatsAppChannel"];

const FIELDS: [FieldName, string][] = [
  ["first_name", "First name"],
  ["last_name", "Last name"],
  ["email", "Work email"],
  ["phone", "Phone"],
  ["company_name", "Company"],
  ["job_title", "Job title"],
  ["website", "Website"],
  ["notes", "Message"],
];
/** Names are always asked and always required: a lead has them. */
const ALWAYS = new Set<FieldName>(["first_name", "last_name"]);

/** The HTML a company pastes into its page: a plain form post, which needs no script and no CORS. */
export function snippet(form: Pick<Form, "key" | "fields" | "consent_text" | "consent_required">, origin = location.origin) {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
  const input = (f: FormField) => {
    const type = f.name === "email" ? "email" : f.name === "phone" ? "tel" : f.name === "website" ? "url" : "text";
    const control =
      f.name === "notes"
        ? `<textarea name="notes"${f.required ? " required" : ""}></textarea>`
        : `<input type="${type}" name="${f.name}"${f.required ? " required" : ""}>`;
    return `  <label>${esc(f.label)}\n    ${control}\n  </label>`;
  };
  const consent = form.consent_text
    ? [`  <label>\n    <input type="checkbox" name="consent" value="on"${form.consent_required ? " required" : ""}>\n    ${esc(form.consent_text)}\n  </label>`]
    : [];
  return [
    `<form action="${origin}/api/forms/${form.key}/submit" method="post">`,
    ...form.fields.map(input),
    ...consent,
    `  <!-- Left empty by people; bots fill it in. -->`,
    `  <input type="text" name="nickname" tabindex="-1" autocomplete="off" aria-hidden="true" style="position:absolute;left:-10000px">`,
    `  <button type="submit">Send</button>`,
    `</form>`,
  ].join("\n");
}

function Preview({ fields, consentText, consentRequired, name }: { fields: FormField[]; consentText: string; consentRequired: boolean; name: string }) {
  return (
    <div class="card card-body border preview-form" id="form-preview" aria-label="Preview of the form">
      <p class="small text-uppercase text-body-secondary mb-2">Preview</p>
      <h3 class="h5">{name || "Untitled form"}</h3>
      {fields.map((f) => (
        <div class="mb-2" key={f.name}>
          <label class="form-label small mb-1" for={`preview-${f.name}`}>
            {f.label}
            {f.required && <span class="text-danger"> *</span>}
          </label>
          {f.name === "notes" ? (
            <textarea class="form-control form-control-sm" id={`preview-${f.name}`} rows={2} disabled />
          ) : (
            <input class="form-control form-control-sm" id={`preview-${f.name}`} disabled />
          )}
        </div>
      ))}
      {consentText && (
        <div class="form-check small mb-2">
          <input class="form-check-input" type="checkbox" disabled id="preview-consent" />
          <label class="form-check-label" for="preview-consent">
            {consentText}
            {consentRequired && <span class="text-danger"> *</span>}
          </label>
        </div>
      )}
      <button class="btn btn-sm btn-primary align-self-start" type="button" disabled>
        Send
      </button>
    </div>
  );
}

function Builder({ form, onSaved, onCancel }: { form?: Form; onSaved: (f: Form) => void; onCancel: () => void }) {
  const state = useForm();
  const [name, setName] = useState(form?.name ?? "Contact sales");
  const [chosen, setChosen] = useState<Map<FieldName, FormField>>(
    () =>
      new Map(
        (form?.fields ?? [
          { name: "first_name", label: "First name", required: true },
          { name: "last_name", label: "Last name", required: true },
          { name: "email", label: "Work email", required: true },
          { name: "company_name", label: "Company", required: false },
          { name: "notes", label: "How can we help?", required: false },
        ]).map((f) => [f.name, f] as [FieldName, FormField]),
      ),
  );
  const [consentText, setConsentText] = useState(form?.consent_text ?? "");
  const [consentRequired, setConsentRequired] = useState(form?.consent_required ?? false);
  const [ownerKind, setOwnerKind] = useState<"round_robin" | "user">(form?.owner.kind ?? "round_robin");
  const [ownerId, setOwnerId] = useState(form?.owner.kind === "user" ? form.owner.user_id : "");
  const fields = FIELDS.filter(([n]) => chosen.has(n)).map(([n]) => chosen.get(n)!);
  const toggle = (n: FieldName, label: string, on: boolean) => {
    const next = new Map(chosen);
    if (on) next.set(n, { name: n, label, required: ALWAYS.has(n) });
    else next.delete(n);
    setChosen(next);
  };
  const change = (n: FieldName, patch: Partial<FormField>) => {
    const next = new Map(chosen);
    next.set(n, { ...chosen.get(n)!, ...patch });
    setChosen(next);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(f.get(k) ?? "").trim();
    const body = {
      name,
      fields,
      source: text("source"),
      campaign: text("campaign"),
      medium: text("medium"),
      consent_text: consentText.trim() || null,
      consent_required: consentRequired,
      owner: ownerKind === "user" ? { kind: "user" as const, user_id: ownerId } : { kind: "round_robin" as const },
      allowed_origins: text("allowed_origins").split(/\s+/).filter(Boolean),
      redirect_url: text("redirect_url") || null,
    };
    state.start();
    const result = form
      ? await api.PATCH("/api/companies/{company_id}/forms/{form_id}", {
          params: { path: { company_id: companyId(), form_id: form.id } },
          body: { ...body, version: form.version },
        })
      : await api.POST("/api/companies/{company_id}/forms", {
          params: { path: { company_id: companyId() } },
          body: { ...body, consent_text: body.consent_text ?? undefined, redirect_url: body.redirect_url ?? undefined },
        });
    if (!result.data) return state.fail(result.error ?? {}, result.response);
    state.done();
    toast(form ? "Form saved." : "Form added: paste its snippet into your page.");
    onSaved(result.data);
  };
  return (
    <form class="card border-0 shadow-sm mb-3" id="form-builder" onSubmit={submit} noValidate>
      <div class="card-body">
        <h2 class="h5 mb-3">{form ? `Edit “${form.name}”` : "New form"}</h2>
        <FormAlert alert={state.alert} />
        <div class="row g-4">
          <div class="col-lg-7">
            <Field name="name" label="Name" required defaultValue={name} onInput={(e) => setName(e.currentTarget.value)} error={state.errors.name} />
            <fieldset class="mb-3">
              <legend class="form-label fs-6">Fields</legend>
              <div data-error-for="fields" class={state.errors.fields ? "text-danger small mb-1" : "d-none"}>
                {state.errors.fields}
              </div>
              <table class="table table-sm align-middle mb-0 builder-fields">
                <thead>
                  <tr>
                    <th scope="col">Ask</th>
                    <th scope="col">Label</th>
                    <th scope="col">Required</th>
                  </tr>
                </thead>
                <tbody>
                  {FIELDS.map(([n, label]) => {
                    const f = chosen.get(n);
                    return (
                      <tr key={n}>
                        <td>
                          <div class="form-check mb-0">
                            <input
                              class="form-check-input"
                              type="checkbox"
                              id={`ask-${n}`}
                              checked={!!f}
                              disabled={ALWAYS.has(n)}
                              onChange={(e) => toggle(n, label, e.currentTarget.checked)}
                            />
                            <label class="form-check-label small" for={`ask-${n}`}>
                              {label}
                            </label>
                          </div>
                        </td>
                        <td>
                          <input
                            class="form-control form-control-sm"
                            aria-label={`Label of ${label}`}
                            value={f?.label ?? label}
                            disabled={!f}
                            onInput={(e) => change(n, { label: e.currentTarget.value })}
                          />
                        </td>
                        <td>
                          <input
                            class="form-check-input"
                            type="checkbox"
                            aria-label={`${label} required`}
                            checked={!!f?.required}
                            disabled={!f || ALWAYS.has(n)}
                            onChange={(e) => change(n, { required: e.currentTarget.checked })}
                          />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </fieldset>
            <div class="row g-2">
              <div class="col-sm-4">
                <Field name="source" label="Source" required defaultValue={form?.source ?? "Website"} error={state.errors.source} />
              </div>
              <div class="col-sm-4">
                <Field name="campaign" label="Campaign" required defaultValue={form?.campaign ?? ""} error={state.errors.campaign} />
              </div>
              <div class="col-sm-4">
                <Field name="medium" label="Medium" required defaultValue={form?.medium ?? "web form"} error={state.errors.medium} />
              </div>
            </div>
            <p class="form-text mt-0">A page's own utm_source, utm_campaign and utm_medium fields take precedence.</p>
            <div class="mb-3">
              <label class="form-label" for="consent_text">
                Consent text
              </label>
              <textarea
                class={`form-control ${state.errors.consent_text ? "is-invalid" : ""}`}
                id="consent_text"
                name="consent_text"
                rows={2}
                value={consentText}
                placeholder="I agree that Acme may contact me about its products."
                onInput={(e) => setConsentText(e.currentTarget.value)}
              />
              <div class="invalid-feedback" data-error-for="consent_text">
                {state.errors.consent_text}
              </div>
              <div class="form-check mt-1">
                <input class="form-check-input" type="checkbox" id="consent_required" checked={consentRequired} onChange={(e) => setConsentRequired(e.currentTarget.checked)} />
                <label class="form-check-label small" for="consent_required">
                  Refuse submissions without consent
                </label>
              </div>
              <div class="text-danger small" data-error-for="consent_required">
                {state.errors.consent_required}
              </div>
            </div>
            <div class="row g-2">
              <div class="col-sm-5">
                <SelectField
                  name="owner_kind"
                  label="New leads go to"
                  value={ownerKind}
                  options={[
                    ["round_robin", "Sales reps in turn"],
                    ["user", "One person"],
                  ]}
                  onChange={(e) => setOwnerKind(e.currentTarget.value as "round_robin" | "user")}
                />
              </div>
              <div class="col-sm-7">
                {ownerKind === "user" && <UserPicker name="owner.user_id" label="Person" value={ownerId} onChange={setOwnerId} error={state.errors["owner.user_id"]} />}
              </div>
            </div>
            <div class="mb-3">
              <label class="form-label" for="allowed_origins">
                Pages allowed to post it
              </label>
              <textarea
                class={`form-control ${Object.keys(state.errors).some((k) => k.startsWith("allowed_origins")) ? "is-invalid" : ""}`}
                id="allowed_origins"
                name="allowed_origins"
                rows={2}
                placeholder="https://www.example.com"
                defaultValue={(form?.allowed_origins ?? []).join("\n")}
                aria-describedby="allowed_origins-hint"
              />
              <div class="form-text" id="allowed_origins-hint">
                One origin a line. A browser posting from anywhere else is refused, so leave none only for posts from your own server.
              </div>
              <div class="invalid-feedback" data-error-for="allowed_origins">
                {Object.entries(state.errors)
                  .filter(([k]) => k.startsWith("allowed_origins"))
                  .map(([, v]) => v)
                  .join(" ")}
              </div>
            </div>
            <Field name="redirect_url" label="Thank-you page" placeholder="https://www.example.com/thanks" defaultValue={form?.redirect_url ?? ""} error={state.errors.redirect_url} />
          </div>
          <div class="col-lg-5">
            <Preview fields={fields} consentText={consentText.trim()} consentRequired={consentRequired} name={name} />
          </div>
        </div>
        <div class="d-flex gap-2 mt-2">
          <button class="btn btn-primary" type="submit" disabled={state.busy} id="save-form">
            {state.busy ? "Saving…" : form ? "Save form" : "Add form"}
          </button>
          <button class="btn btn-outline-secondary" type="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </div>
    </form>
  );
}

function FormCard({ form, canEdit, onEdit, onChanged }: { form: Form; canEdit: boolean; onEdit: () => void; onChanged: () => void }) {
  const [confirm, setConfirm] = useState<"rotate" | "delete" | null>(null);
  const code = useMemo(() => snippet(form), [form]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(code);
      toast("Snippet copied.");
    } catch {
      toast("Select the snippet and copy it.", "info");
    }
  };
  const rotate = async () => {
    const { data, error } = await api.PATCH("/api/companies/{company_id}/forms/{form_id}", {
      params: { path: { company_id: companyId(), form_id: form.id } },
      body: { version: form.version, rotate_key: true },
    });
    setConfirm(null);
    if (!data) return toast(error?.detail ?? "Could not take a new key.", "danger");
    toast("New key taken: update the snippet on your pages.");
    onChanged();
  };
  const remove = async () => {
    const { response, error } = await api.DELETE("/api/companies/{company_id}/forms/{form_id}", {
      params: { path: { company_id: companyId(), form_id: form.id }, header: { "If-Match": `"${form.version}"` } },
    });
    setConfirm(null);
    if (!response.ok) return toast(error?.detail ?? "Could not delete the form.", "danger");
    toast("Form deleted.");
    onChanged();
  };
  return (
    <section class="card border-0 shadow-sm mb-3" data-form={form.name} aria-labelledby={`form-${form.id}`}>
      <div class="card-body">
        <div class="d-flex flex-wrap justify-content-between gap-2 mb-2">
          <div>
            <h2 class="h5 mb-1" id={`form-${form.id}`}>
              {form.name}
            </h2>
            <div class="small text-body-secondary">
              {form.source} · {form.campaign} · {form.medium} · leads to {form.owner.kind === "user" ? <UserName id={form.owner.user_id} /> : "the sales reps in turn"} · changed{" "}
              <span title={when(form.updated_at)}>{ago(form.updated_at)}</span>
            </div>
          </div>
          {canEdit && (
            <div class="d-flex gap-2 align-items-start">
              <button class="btn btn-sm btn-outline-primary" onClick={onEdit}>
                Edit
              </button>
              <button class="btn btn-sm btn-outline-secondary" onClick={() => setConfirm("rotate")}>
                New key
              </button>
              <button class="btn btn-sm btn-outline-danger" onClick={() => setConfirm("delete")}>
                Delete
              </button>
            </div>
          )}
        </div>
        {form.allowed_origins.length === 0 && (
          <div class="alert alert-warning py-2 small" role="status">
            No page may post this form yet: a browser sends its page's origin, and this form allows none. Edit it and add the origins of the pages that embed it.
          </div>
        )}
        <label class="form-label small text-body-secondary" for={`snippet-${form.id}`}>
          Paste this into your page
        </label>
        <textarea class="form-control font-monospace small snippet" id={`snippet-${form.id}`} rows={8} readOnly value={code} />
        <button class="btn btn-sm btn-outline-secondary mt-2" onClick={() => void copy()}>
          Copy snippet
        </button>
      </div>
      {confirm === "rotate" && (
        <Confirm
          title="Take a new key?"
          text="The current snippet stops working at once; pages must be given the new one."
          action="Take a new key"
          tone="primary"
          onConfirm={() => void rotate()}
          onClose={() => setConfirm(null)}
        />
      )}
      {confirm === "delete" && (
        <Confirm
          title={`Delete “${form.name}”?`}
          text="Pages posting it are refused from now on. The leads it brought stay."
          action="Delete"
          onConfirm={() => void remove()}
          onClose={() => setConfirm(null)}
        />
      )}
    </section>
  );
}

function FormsTab() {
  const role = session.value?.role;
  const canEdit = role === "admin" || role === "manager";
  const [forms, setForms] = useState<Form[] | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [editing, setEditing] = useState<Form | "new" | null>(null);
  const load = async () => {
    const { data, error } = await api.GET("/api/companies/{company_id}/forms", { params: { path: { company_id: companyId() } } });
    if (!data) return setFailed(error?.detail ?? "The forms could not be read.");
    setForms(data.items);
  };
  useEffect(() => void load(), []);
  if (failed) return <ErrorNote>{failed}</ErrorNote>;
  if (!forms) return <Spinner label="Loading forms" />;
  return (
    <>
      {canEdit && !editing && (
        <button class="btn btn-primary mb-3" id="new-form" onClick={() => setEditing("new")}>
          + New form
        </button>
      )}
      {editing && (
        <Builder
          form={editing === "new" ? undefined : editing}
          onCancel={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void load();
          }}
        />
      )}
      {forms.length === 0 && !editing && <p class="text-body-secondary">No forms yet. A form on your website brings leads in attributed and with their consent.</p>}
      {forms.map((f) => (
        <FormCard key={f.id} form={f} canEdit={canEdit} onEdit={() => setEditing(f)} onChanged={() => void load()} />
      ))}
    </>
  );
}

function WhatsAppTab() {
  const state = useForm();
  const [channel, setChannel] = useState<Channel | null | undefined>(undefined);
  const load = async () => {
    const { data, response } = await api.GET("/api/companies/{company_id}/channels/whatsapp", { params: { path: { company_id: companyId() } } });
    setChannel(response.status === 404 ? null : (data ?? null));
  };
  useEffect(() => void load(), []);
  if (channel === undefined) return <Spinner label="Loading the channel" />;
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (k: string) => String(f.get(k) ?? "").trim() || undefined;
    state.start();
    const { data, error, response } = await api.PUT("/api/companies/{company_id}/channels/whatsapp", {
      params: { path: { company_id: companyId() } },
      body: { app_secret: text("app_secret"), verify_token: text("verify_token"), campaign: text("campaign"), medium: text("medium"), version: channel?.version },
    });
    if (!data) return state.fail(error ?? {}, response);
    state.done();
    (e.currentTarget as HTMLFormElement | null)?.reset();
    setChannel(data);
    toast("WhatsApp channel saved.");
  };
  return (
    <div class="row g-4">
      <div class="col-lg-6">
        <form class="card card-body border-0 shadow-sm" id="whatsapp-setup" onSubmit={submit} noValidate>
          <h2 class="h5">{channel ? "WhatsApp channel" : "Connect WhatsApp"}</h2>
          <FormAlert alert={state.alert} />
          <Field
            name="app_secret"
            type="password"
            label="App secret"
            required={!channel}
            hint={channel ? "Set. Leave empty to keep it." : "From your Meta app's basic settings; it signs each delivery."}
            error={state.errors.app_secret}
          />
          <Field name="verify_token" label="Verify token" required={!channel} hint={channel ? "Leave empty to keep it." : "A phrase of 12 characters or more; type the same into WhatsApp's webhook settings."} error={state.errors.verify_token} />
          <div class="row g-2">
            <div class="col-sm-6">
              <Field name="campaign" label="Campaign" placeholder={channel?.campaign ?? "WhatsApp inbound"} error={state.errors.campaign} />
            </div>
            <div class="col-sm-6">
              <Field name="medium" label="Medium" placeholder={channel?.medium ?? "chat"} error={state.errors.medium} />
            </div>
          </div>
          <button class="btn btn-primary align-self-start" type="submit" disabled={state.busy}>
            {state.busy ? "Saving…" : "Save"}
          </button>
        </form>
      </div>
      <div class="col-lg-6">
        {channel ? (
          <div class="card card-body border-0 shadow-sm" id="whatsapp-webhook">
            <h2 class="h6 text-uppercase text-body-secondary">Callback URL</h2>
            <code class="d-block text-break mb-2">{`${location.origin}${channel.webhook_path}`}</code>
            <p class="small text-body-secondary mb-0">
              Give WhatsApp this address with your verify token and subscribe to <em>messages</em>. A message from a new number becomes a lead attributed to WhatsApp; every message shows on its lead's
              page. Changed <span title={when(channel.updated_at)}>{ago(channel.updated_at)}</span>.
            </p>
          </div>
        ) : (
          <p class="text-body-secondary">Connect your WhatsApp Business number so people who message you become leads, with the conversation on their page.</p>
        )}
      </div>
    </div>
  );
}

const TABS = [
  ["forms", "Web forms"],
  ["import", "Import"],
  ["whatsapp", "WhatsApp"],
] as const;

export default function Capture() {
  const admin = session.value?.role === "admin";
  const manager = admin || session.value?.role === "manager";
  const [q, setQ] = useQueryState(["tab"] as const);
  const tab = admin && q.tab === "whatsapp" ? "whatsapp" : manager && q.tab === "import" ? "import" : "forms";
  const shown = (t: string) => t === "forms" || (t === "import" && manager) || (t === "whatsapp" && admin);
  return (
    <>
      <PageHeader title="Capture" note="Where leads come in: your website's forms, files you import and WhatsApp" />
      <ul class="nav nav-tabs mb-3" role="tablist">
        {TABS.filter(([t]) => shown(t)).map(([t, label]) => (
          <li class="nav-item" role="presentation" key={t}>
            <button class={`nav-link ${tab === t ? "active" : ""}`} role="tab" aria-selected={tab === t} id={`tab-${t}`} onClick={() => setQ({ tab: t })}>
              {label}
            </button>
          </li>
        ))}
      </ul>
      {tab === "forms" ? <FormsTab /> : tab === "import" ? <ImportTab /> : <WhatsAppTab />}
    </>
  );
}
