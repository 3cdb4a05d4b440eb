import { useEffect, useState } from "preact/hooks";
import { ActivityTimeline } from "../components/ActivityTimeline";
import { api, companyId, session, type Lead } from "../api/client";
import { ScoreBadge, StatusBadge } from "../components/Badges";
import { ConsentPanel } from "../components/ConsentPanel";
import { CopyId } from "../components/CopyId";
import { DuplicateBadge, DuplicatesPanel, type Duplicates } from "../components/DuplicatesPanel";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Confirm } from "../components/Modal";
import { UserName } from "../components/People";
import { RecordPage, Section, Timeline } from "../components/RecordPage";
import { toast } from "../components/Toast";
import { WhatsAppConversation } from "../components/WhatsAppConversation";
import { ago, bandLabel, calendarDate, when } from "../lib/format";
import { navigate } from "../lib/nav";
import { ConversionPanel, ConvertDialog } from "./LeadConversion";
import {
  DecisionDialog,
  EligibilityPanel,
  historyEntries,
  isOpen,
  QualificationPanel,
  RiskPanel,
  type DecisionKind,
  type QualificationPolicy,
  type QualificationView,
  type RiskScore,
} from "./LeadQualification";

/** What the qualification parts read besides the lead; each loads on its own and may be missing. */
interface Qualification {
  view?: QualificationView;
  risk?: RiskScore;
  policy?: QualificationPolicy;
  duplicates?: Duplicates;
}

const DECIDED: Record<DecisionKind, string> = {
  recycle: "Lead recycled: back to nurturing until its revisit date.",
  disqualify: "Lead disqualified.",
  reverse: "Decision reversed: the lead is back where it was.",
};

/** One lead: key facts and actions up top; qualification, conversion, details and score below. */
/** A subject access request: everything held about the person, downloaded as one JSON file. */
async function exportLead(lead: Lead) {
  const { data, error } = await api.GET("/api/companies/{company_id}/leads/{lead_id}/export", {
    params: { path: { company_id: companyId(), lead_id: lead.id } },
  });
  if (!data) return toast(error?.detail ?? "Could not export the lead's data.", "danger");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
  link.download = `${lead.first_name}-${lead.last_name}-data.json`.replace(/[^\p{L}\p{N}._-]+/gu, "_");
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  toast("Exported. The export is recorded in the audit log.");
}

export default function LeadRecord({ id }: { id: string }) {
  const [lead, setLead] = useState<Lead | null | string>(null);
  const [q, setQ] = useState<Qualification>({});
  const [archiving, setArchiving] = useState(false);
  const [converting, setConverting] = useState(false);
  const [deciding, setDeciding] = useState<DecisionKind | null>(null);
  const role = session.value?.role;
  const load = () => {
    const path = { company_id: companyId(), lead_id: id };
    void api
      .GET("/api/companies/{company_id}/leads/{lead_id}", { params: { path } })
      .then(({ data, error }) => setLead(data ?? error?.detail ?? "This lead does not exist."))
      .catch(() => setLead("The server could not be reached. Check your connection and reload."));
    void Promise.all([
      api.GET("/api/companies/{company_id}/leads/{lead_id}/qualification", { params: { path } }),
      api.GET("/api/companies/{company_id}/leads/{lead_id}/risk-score", { params: { path } }),
      api.GET("/api/companies/{company_id}/leads/qualification-policy", { params: { path: { company_id: companyId() } } }),
      api.GET("/api/companies/{company_id}/leads/{lead_id}/duplicates", { params: { path } }),
    ])
      .then(([view, risk, policy, duplicates]) => setQ({ view: view.data, risk: risk.data, policy: policy.data, duplicates: duplicates.data }))
      .catch(() => undefined);
  };
  useEffect(load, [id]);
  if (lead === null) return <Spinner label="Loading the lead" />;
  if (typeof lead === "string")
    return (
      <>
        <h1 class="h3">Lead not found</h1>
        <ErrorNote>
          {lead} <a href="/leads">Back to leads</a>
        </ErrorNote>
      </>
    );
  const mine = lead.owner_id === session.value?.userId;
  const manages = role === "admin" || role === "manager";
  const canEdit = manages || (role === "sales_rep" && mine);
  const open = isOpen(lead);
  const latest = q.view?.history[0];
  // Only the latest recycle or disqualification can be reversed, while the lead is where it left it.
  const reversible = manages && latest?.record === "decision" && latest.decision !== "reversed" && latest.status === lead.status;
  const archive = async () => {
    setArchiving(false);
    const { data, error } = await api.DELETE("/api/companies/{company_id}/leads/{lead_id}", {
      params: { path: { company_id: companyId(), lead_id: lead.id } },
    });
    if (error) return toast(error.detail ?? "Could not archive the lead.", "danger");
    setLead(data!);
    toast("Lead archived. It stays readable.");
  };
  return (
    <RecordPage
      back={{ href: "/leads", label: "Leads" }}
      title={`${lead.first_name} ${lead.last_name}`}
      subtitle={[lead.job_title, lead.company_name].filter(Boolean).join(" · ") || undefined}
      badges={
        <>
          <StatusBadge status={lead.status} />
          <ScoreBadge score={lead.score} band={lead.score_band} />
          <DuplicateBadge duplicates={q.duplicates} />
        </>
      }
      actions={
        <>
          <CopyId id={lead.id} what="lead" />
          {role === "admin" && (
            <button class="btn btn-outline-secondary" id="export-lead" title="Everything held about this person, as JSON" onClick={() => void exportLead(lead)}>
              Export data
            </button>
          )}
          {canEdit && open && (
            <button class="btn btn-success" id="convert" onClick={() => setConverting(true)}>
              Convert
            </button>
          )}
          {canEdit && lead.status !== "archived" && (
            <>
              <a class="btn btn-primary" href={`/leads/${lead.id}/edit`} id="edit-lead">
                Edit
              </a>
              <button class="btn btn-outline-danger" id="archive" onClick={() => setArchiving(true)}>
                Archive
              </button>
            </>
          )}
        </>
      }
      facts={[
        { label: "Owner", value: <UserName id={lead.owner_id} /> },
        { label: "Email", value: lead.email ? <a href={`mailto:${lead.email}`}>{lead.email}</a> : "—" },
        { label: "Phone", value: lead.phone ? <a href={`tel:${lead.phone}`}>{lead.phone}</a> : "—" },
        { label: "Updated", value: <span title={when(lead.updated_at)}>{ago(lead.updated_at)}</span> },
      ]}
      aside={
        <>
          {q.view && !lead.conversion && <EligibilityPanel view={q.view} />}
          <DuplicatesPanel duplicates={q.duplicates} />
          {q.risk && <RiskPanel risk={q.risk} />}
          {q.view && <Timeline title="Qualification history" id="qualification-history" entries={historyEntries(q.view.history)} empty="Not assessed yet." />}
          <ConsentPanel leadId={lead.id} ownerId={lead.owner_id} />
          <WhatsAppConversation leadId={lead.id} />
          <ActivityTimeline kind="lead" id={lead.id} related={[{ kind: "lead", id: lead.id }]} />
        </>
      }
    >
      {lead.conversion && <ConversionPanel conversion={lead.conversion} />}
      {lead.status_reason && (
        <div class="alert alert-secondary" role="status" id="status-reason">
          {lead.status === "unqualified" ? "Disqualified" : "Recycled"}: {lead.status_reason}
          {lead.revisit_on && <> · look at it again on {calendarDate(lead.revisit_on)}</>}
        </div>
      )}
      {q.view && (
        <QualificationPanel
          key={lead.id}
          lead={lead}
          current={q.view.current}
          policy={q.policy ?? null}
          canAssess={canEdit && open}
          onAssessed={load}
          actions={
            <>
              {canEdit && open && (
                <>
                  <button class="btn btn-sm btn-outline-secondary" id="recycle" onClick={() => setDeciding("recycle")}>
                    Recycle
                  </button>
                  <button class="btn btn-sm btn-outline-danger" id="disqualify" onClick={() => setDeciding("disqualify")}>
                    Disqualify
                  </button>
                </>
              )}
              {reversible && (
                <button class="btn btn-sm btn-outline-primary" id="reverse-decision" onClick={() => setDeciding("reverse")}>
                  Reverse decision
                </button>
              )}
            </>
          }
        />
      )}
      <Section
        title="Details"
        rows={[
          ["Company", lead.company_name],
          ["Website", lead.website ? <a href={lead.website} rel="noopener noreferrer" target="_blank">{lead.website}</a> : null],
          ["Job title", lead.job_title],
          ["Notes", lead.notes ? <span class="text-pre-wrap">{lead.notes}</span> : null],
        ]}
      />
      <Section title="Attribution" rows={[["Source", lead.source], ["Campaign", lead.campaign], ["Medium", lead.medium]]} />
      <Section
        title="Score and BANT notes"
        rows={[
          ["Score", <ScoreBadge score={lead.score} band={lead.score_band} />],
          ["Band", bandLabel(lead.score_band)],
          ["Budget", lead.budget],
          ["Authority", lead.authority],
          ["Need", lead.need],
          ["Timeline", lead.timeline],
        ]}
      />
      {archiving && (
        <Confirm
          title="Archive this lead?"
          text="It leaves the working lists and stays readable here, with its history."
          action="Archive"
          onConfirm={() => void archive()}
          onClose={() => setArchiving(false)}
        />
      )}
      {converting && <ConvertDialog lead={lead} onClose={() => setConverting(false)} />}
      {deciding && (
        <DecisionDialog
          kind={deciding}
          lead={lead}
          policy={q.policy ?? null}
          onClose={() => setDeciding(null)}
          onDone={() => {
            toast(DECIDED[deciding]);
            setDeciding(null);
            load();
          }}
        />
      )}
      {lead.status === "archived" && (
        <p class="small text-body-secondary">
          Archived. <a href="/leads" onClick={() => navigate("/leads")}>Back to the leads</a>
        </p>
      )}
    </RecordPage>
  );
}
