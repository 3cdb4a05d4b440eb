// A lead's consent per channel: where each stands and whether a message may go out, the ledger
// newest first, and recording a grant or a withdrawal (a withdrawal by anyone who may edit; a
// grant by the lead's owner or a manager). An unsubscribe link can be copied for a message.
import { useEffect, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import type { components } from "../api/schema";
import { useSubmissionKey } from "../lib/idempotency";
import { ago, when } from "../lib/format";
import { FormAlert, SelectField, useForm, values } from "./Form";
import { UserName } from "./People";
import { Panel } from "./RecordPage";
import { toast } from "./Toast";

type View = components["schemas"]["ConsentView"];
type Record = components["schemas"]["ConsentRecord"];

const CHANNELS: [string, string][] = [
  ["email", "Email"],
  ["whatsapp", "WhatsApp"],
  ["phone", "Phone"],
  ["sms", "SMS"],
];
const channelLabel = (c: string) => CHANNELS.find(([k]) => k === c)?.[1] ?? c;

function Source({ source: s }: { source: string }) {
  if (s.startsWith("form:")) return <>a web form</>;
  if (s === "unsubscribe-link") return <>the unsubscribe link</>;
  if (s.startsWith("user:")) return <UserName id={s.slice("user:".length)} />;
  return <>{s}</>;
}

function StatusChip({ status }: { status?: string | null }) {
  if (status === "granted") return <span class="badge text-bg-success">Granted</span>;
  if (status === "withdrawn") return <span class="badge text-bg-danger">Withdrawn</span>;
  return <span class="badge text-bg-light border">Not asked</span>;
}

export function ConsentPanel({ leadId, ownerId }: { leadId: string; ownerId: string }) {
  const [view, setView] = useState<View | null>(null);
  const [recording, setRecording] = useState(false);
  const role = session.value?.role;
  const canEdit = role === "admin" || role === "manager" || role === "sales_rep";
  const canGrant = role === "admin" || role === "manager" || ownerId === session.value?.userId;
  const path = { company_id: companyId(), lead_id: leadId };
  const load = () =>
    void api
      .GET("/api/companies/{company_id}/leads/{lead_id}/consent", { params: { path, query: { limit: 20 } } })
      .then(({ data }) => data && setView(data))
      .catch(() => undefined);
  useEffect(load, [leadId]);
  if (!view) return null;
  const copyLink = async () => {
    const { data, error } = await api.POST("/api/companies/{company_id}/leads/{lead_id}/consent/unsubscribe-link", {
      params: { path },
      body: { channel: "email" },
    });
    if (!data) return toast(error?.detail ?? "Could not make the link.", "danger");
    await navigator.clipboard?.writeText(data.url).catch(() => undefined);
    toast("Unsubscribe link copied: paste it into your email.");
  };
  return (
    <Panel
      title="Consent"
      id="consent"
      actions={
        canEdit && (
          <>
            <button class="btn btn-sm btn-outline-secondary" id="copy-unsubscribe" onClick={() => void copyLink()}>
              Unsubscribe link
            </button>
            <button class="btn btn-sm btn-outline-primary" id="record-consent" onClick={() => setRecording(!recording)}>
              Record
            </button>
          </>
        )
      }
    >
      <table class="table table-sm align-middle mb-2" id="consent-channels">
        <tbody>
          {view.channels.map((c) => (
            <tr key={c.channel} data-channel={c.channel}>
              <th scope="row" class="fw-normal">
                {channelLabel(c.channel)}
              </th>
              <td>
                <StatusChip status={c.status} />
              </td>
              <td class="small text-body-secondary text-end">
                {c.check.decision === "allowed" ? (
                  <span title={c.requirement === "opt_in" ? "Needs an opt-in, and has one" : "May be contacted until they object"}>
                    may contact
                  </span>
                ) : (
                  <span class="text-danger-emphasis" title={c.check.reason}>
                    {c.requirement === "opt_in" && !c.status ? "needs opt-in" : "blocked"}
                  </span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {recording && (
        <RecordForm
          leadId={leadId}
          canGrant={canGrant}
          onDone={() => {
            setRecording(false);
            load();
          }}
        />
      )}
      <History records={view.history.items} />
    </Panel>
  );
}

function RecordForm({ leadId, canGrant, onDone }: { leadId: string; canGrant: boolean; onDone: () => void }) {
  const form = useForm();
  const key = useSubmissionKey();
  const [status, setStatus] = useState(canGrant ? "granted" : "withdrawn");
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    const r = await api.POST("/api/companies/{company_id}/leads/{lead_id}/consent", {
      params: { path: { company_id: companyId(), lead_id: leadId }, header: { "Idempotency-Key": key.current() } },
      body: { channel: data.channel, status: data.status, proof: data.proof || undefined },
    });
    key.answered();
    if (!r.data) return form.fail(r.error ?? {}, r.response);
    toast(data.status === "granted" ? "Consent recorded." : "Withdrawal recorded: nothing more goes out on that channel.");
    onDone();
  };
  const statuses: [string, string][] = canGrant
    ? [
        ["granted", "Granted"],
        ["withdrawn", "Withdrawn"],
      ]
    : [["withdrawn", "Withdrawn"]];
  return (
    <form class="border rounded p-2 mb-3" id="consent-form" noValidate onSubmit={submit}>
      <div class="row g-2">
        <SelectField class="col-6" small name="channel" id="consent-channel" label="Channel" options={CHANNELS} error={form.errors.channel} />
        <SelectField
          class="col-6"
          small
          name="status"
          id="consent-status"
          label="Consent"
          options={statuses}
          value={status}
          onChange={(e) => setStatus(e.currentTarget.value)}
          error={form.errors.status}
        />
      </div>
      <label class="form-label small mb-1 mt-2" for="consent-proof">
        {status === "granted" ? "What they agreed to (kept as proof)" : "How they asked to stop (optional)"}
      </label>
      <textarea
        class={`form-control form-control-sm ${form.errors.proof ? "is-invalid" : ""}`}
        id="consent-proof"
        name="proof"
        rows={2}
        maxLength={2000}
        aria-describedby="consent-proof-error"
      />
      <div class="invalid-feedback" id="consent-proof-error" data-error-for="proof">
        {form.errors.proof}
      </div>
      <FormAlert alert={form.alert} />
      <button class="btn btn-sm btn-primary mt-2" type="submit" id="consent-submit" disabled={form.busy}>
        Record {status === "granted" ? "consent" : "withdrawal"}
      </button>
    </form>
  );
}

function History({ records }: { records: Record[] }) {
  if (records.length === 0) return <p class="small text-body-secondary mb-0">No consent recorded yet.</p>;
  return (
    <details id="consent-history">
      <summary class="small">Ledger ({records.length === 20 ? "latest 20" : records.length})</summary>
      <ol class="list-unstyled small mt-2 mb-0">
        {records.map((r) => (
          <li class="mb-2" key={r.id}>
            <StatusChip status={r.status} /> {channelLabel(r.channel)} · via <Source source={r.source} /> ·{" "}
            <span title={when(r.at)}>{ago(r.at)}</span>
            <div class="text-body-secondary text-pre-wrap">{r.proof}</div>
          </li>
        ))}
      </ol>
    </details>
  );
}
