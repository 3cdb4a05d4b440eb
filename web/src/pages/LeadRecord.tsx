import { useEffect, useState } from "preact/hooks";
import { api, companyId, session, type Lead } from "../api/client";
import { ScoreBadge, StatusBadge } from "../components/Badges";
import { CopyId } from "../components/CopyId";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Confirm } from "../components/Modal";
import { UserName } from "../components/People";
import { RecordPage, Section } from "../components/RecordPage";
import { toast } from "../components/Toast";
import { ago, bandLabel, when } from "../lib/format";
import { navigate } from "../lib/nav";

/** One lead, to read: key facts and actions up top, details, attribution and score below. */
export default function LeadRecord({ id }: { id: string }) {
  const [lead, setLead] = useState<Lead | null | string>(null);
  const [archiving, setArchiving] = useState(false);
  const role = session.value?.role;
  useEffect(() => {
    void api
      .GET("/api/companies/{company_id}/leads/{lead_id}", { params: { path: { company_id: companyId(), lead_id: id } } })
      .then(({ data, error }) => setLead(data ?? error?.detail ?? "This lead does not exist."))
      .catch(() => setLead("The server could not be reached. Check your connection and reload."));
  }, [id]);
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
  const canEdit = role === "admin" || role === "manager" || (role === "sales_rep" && mine);
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
        </>
      }
      actions={
        <>
          <CopyId id={lead.id} what="lead" />
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
        <section class="card border-0 shadow-sm" aria-label="Timeline">
          <div class="card-body">
            <h2 class="h6 text-uppercase text-body-secondary mb-3">Timeline</h2>
            <ol class="list-unstyled small mb-0" id="timeline">
              <li class="mb-2">
                <span class="fw-semibold">Captured</span> by <UserName id={lead.created_by} />
                <div class="text-body-secondary">{when(lead.created_at)}</div>
              </li>
              {lead.updated_at !== lead.created_at && (
                <li>
                  <span class="fw-semibold">Last changed</span>
                  <div class="text-body-secondary">{when(lead.updated_at)}</div>
                </li>
              )}
            </ol>
          </div>
        </section>
      }
    >
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
        title="Score and qualification"
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
      {lead.status === "archived" && (
        <p class="small text-body-secondary">
          Archived. <a href="/leads" onClick={() => navigate("/leads")}>Back to the leads</a>
        </p>
      )}
    </RecordPage>
  );
}
