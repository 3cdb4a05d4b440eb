import { useEffect, useState } from "preact/hooks";
import { ActivityTimeline } from "../components/ActivityTimeline";
import { api, companyId, session } from "../api/client";
import type { components } from "../api/schema";
import { AccountLink } from "../components/Accounts";
import { StageBadge } from "../components/Badges";
import { CopyId } from "../components/CopyId";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Confirm } from "../components/Modal";
import { UserName } from "../components/People";
import { Panel, RecordPage, Section, Timeline } from "../components/RecordPage";
import { toast } from "../components/Toast";
import { calendarDate, when, words } from "../lib/format";
import { LostReason, moveDeal } from "./DealBoard";
import { DealDialog } from "./DealForm";
import { Amount, CategoryBadge } from "./Deals";

type Opportunity = components["schemas"]["Opportunity"];
type Pipeline = components["schemas"]["Pipeline"];
type Visit = components["schemas"]["StageVisit"];

/** Days, hours or minutes, whichever reads best. */
function stay(seconds: number): string {
  if (seconds >= 86_400) return `${Math.round(seconds / 86_400)} d`;
  if (seconds >= 3_600) return `${Math.round(seconds / 3_600)} h`;
  return `${Math.max(1, Math.round(seconds / 60))} min`;
}

/** One deal: its stage in the pipeline, the stages it went through, its contacts; edit, move, archive. */
export default function DealRecord({ id }: { id: string }) {
  const [deal, setDeal] = useState<Opportunity | null | string>(null);
  const [visits, setVisits] = useState<Visit[]>([]);
  const [pipeline, setPipeline] = useState<Pipeline | null>(null);
  const [names, setNames] = useState<Record<string, string>>({});
  const [editing, setEditing] = useState(false);
  const [archiving, setArchiving] = useState(false);
  const [losing, setLosing] = useState(false);
  const path = { company_id: companyId(), deal_id: id };
  const loadHistory = () =>
    api.GET("/api/companies/{company_id}/deals/{deal_id}/stage-history", { params: { path } }).then(({ data }) => data && setVisits(data.stages));
  useEffect(() => {
    api
      .GET("/api/companies/{company_id}/deals/{deal_id}", { params: { path } })
      .then(({ data, error }) => {
        setDeal(data ?? error?.detail ?? "This deal does not exist.");
        if (!data) return;
        api.GET("/api/companies/{company_id}/deals/pipelines/{pipeline_id}", { params: { path: { company_id: companyId(), pipeline_id: data.pipeline_id ?? "default" } } }).then((r) => r.data && setPipeline(r.data));
        for (const c of data.contacts)
          api.GET("/api/companies/{company_id}/contacts/{contact_id}", { params: { path: { company_id: companyId(), contact_id: c.contact_id } } }).then(
            (r) => r.data && setNames((n) => ({ ...n, [c.contact_id]: `${r.data.first_name} ${r.data.last_name}` })),
          );
      })
      .catch(() => setDeal("The server could not be reached. Check your connection and reload."));
    loadHistory();
  }, [id]);
  if (deal === null) return <Spinner label="Loading the deal" />;
  if (typeof deal === "string")
    return (
      <>
        <h1 class="h3">Deal not found</h1>
        <ErrorNote>
          {deal} <a href="/deals">Back to deals</a>
        </ErrorNote>
      </>
    );
  const role = session.value?.role;
  const manages = role === "admin" || role === "manager";
  const canEdit = !deal.archived_at && (manages || (role === "sales_rep" && deal.owner_id === session.value?.userId));
  const open = deal.status === "open" && !deal.archived_at;
  const move = async (stage: string, reason?: string) => {
    if (pipeline?.stages.find((s) => s.key === stage)?.status === "lost" && !reason) return setLosing(true);
    const { data, error } = await moveDeal(deal, stage, reason);
    if (!data) {
      toast(error?.errors?.[0]?.message ?? error?.detail ?? "The move failed.", "danger");
      // Changed meanwhile: show it as it is now, so the next move carries its version.
      if (error?.status === 409) {
        const fresh = await api.GET("/api/companies/{company_id}/deals/{deal_id}", { params: { path } });
        if (fresh.data) setDeal(fresh.data);
      }
      return;
    }
    setDeal(data);
    loadHistory();
    toast(`Moved to ${words(stage)}.`);
  };
  const archive = async () => {
    const { data, error } = await api.DELETE("/api/companies/{company_id}/deals/{deal_id}", { params: { path } });
    setArchiving(false);
    if (!data) return toast(error?.detail ?? "Could not archive the deal.", "danger");
    setDeal(data);
    toast("Deal archived: it left the pipeline and the forecast, and stays readable here.");
  };
  return (
    <>
      <RecordPage
        back={{ href: "/deals", label: "Deals" }}
        title={deal.name}
        subtitle={<AccountLink id={deal.account_id} />}
        badges={
          <>
            <StageBadge stage={deal.stage} />
            <CategoryBadge category={deal.forecast_category} />
            {deal.archived_at && <span class="badge text-bg-secondary">archived</span>}
          </>
        }
        actions={
          <>
            {canEdit && (
              <button class="btn btn-outline-primary" id="edit-deal" onClick={() => setEditing(true)}>
                Edit
              </button>
            )}
            {manages && !deal.archived_at && (
              <button class="btn btn-outline-danger" id="archive-deal" onClick={() => setArchiving(true)}>
                Archive
              </button>
            )}
            <CopyId id={deal.id} what="deal" />
          </>
        }
        facts={[
          { label: "Amount", value: <Amount amount={deal.amount} /> },
          { label: "Probability", value: `${deal.probability} %` },
          { label: deal.status === "open" ? "Expected close" : "Closed", value: calendarDate(deal.close_date) },
          { label: "Owner", value: <UserName id={deal.owner_id} /> },
        ]}
        aside={
          <>
          <ActivityTimeline
            kind="deal"
            id={deal.id}
            related={[
              { kind: "deal", id: deal.id },
              { kind: "account", id: deal.account_id },
            ]}
          />
          <Timeline
            title="Stage history"
            id="stage-history"
            entries={[...visits].reverse().map((v, i) => ({
              key: `${v.stage}-${i}`,
              title: (
                <>
                  <StageBadge stage={v.stage} /> {v.left_at ? `for ${stay(v.seconds_in_stage)}` : `since ${stay(v.seconds_in_stage)}`}
                </>
              ),
              at: v.entered_at,
              detail: v.left_at ? (
                <>
                  Moved on {when(v.left_at)}
                  {v.moved_by && (
                    <>
                      {" "}
                      by <UserName id={v.moved_by} />
                    </>
                  )}
                </>
              ) : (
                "Current stage"
              ),
            }))}
          />
          </>
        }
      >
        {pipeline && (
          <Panel title="Pipeline" id="stages">
            <ol class="stage-track list-unstyled d-flex flex-wrap gap-1 mb-3" aria-label={`${pipeline.name} stages`}>
              {pipeline.stages.map((s) => (
                <li class={`stage-step ${s.key === deal.stage ? "current" : ""}`} aria-current={s.key === deal.stage ? "step" : undefined}>
                  {s.label}
                </li>
              ))}
            </ol>
            {open && canEdit && (
              <div class="d-flex gap-2 align-items-center">
                <label class="small" for="move-to">
                  Move to
                </label>
                <form
                  class="d-flex gap-2"
                  onSubmit={(e) => {
                    e.preventDefault();
                    const to = (e.currentTarget.elements.namedItem("to") as HTMLSelectElement).value;
                    if (to) move(to);
                  }}
                >
                  <select class="form-select form-select-sm w-auto" id="move-to" name="to">
                    {pipeline.stages
                      .filter((s) => s.key !== deal.stage)
                      .map((s) => (
                        <option value={s.key}>{s.label}</option>
                      ))}
                  </select>
                  <button class="btn btn-sm btn-primary" id="move-submit">
                    Move
                  </button>
                </form>
              </div>
            )}
            {deal.status !== "open" && <p class="small text-body-secondary mb-0">{deal.status === "won" ? "Won: final." : `Lost: ${deal.lost_reason ?? "no reason given"}.`}</p>}
          </Panel>
        )}
        <Section
          title="Details"
          rows={[
            ["Type", words(deal.type)],
            ["Next step", deal.next_step],
            ["Source lead", deal.source_lead_id && <a href={`/leads/${deal.source_lead_id}`}>The lead it came from</a>],
            ["Created", when(deal.created_at)],
            ["Archived", deal.archived_at && when(deal.archived_at)],
          ]}
        />
        <Panel title="Contact roles" id="deal-contacts">
          {deal.contacts.length === 0 ? (
            <p class="text-body-secondary mb-0">No contacts named on this deal.</p>
          ) : (
            <ul class="list-unstyled mb-0">
              {deal.contacts.map((c) => (
                <li class="mb-1">
                  <a href={`/contacts/${c.contact_id}`}>{names[c.contact_id] ?? "Contact"}</a> {c.primary && <span class="badge text-bg-primary">primary</span>}
                </li>
              ))}
            </ul>
          )}
        </Panel>
      </RecordPage>
      {editing && (
        <DealDialog
          deal={deal}
          onClose={() => setEditing(false)}
          onSaved={(d) => {
            setEditing(false);
            setDeal(d);
            toast("Deal saved.");
          }}
        />
      )}
      {archiving && (
        <Confirm
          title={`Archive ${deal.name}?`}
          text="It leaves lists, the board and forecasts, and stays readable. This cannot be undone."
          action="Archive"
          onConfirm={archive}
          onClose={() => setArchiving(false)}
        />
      )}
      {losing && (
        <LostReason
          deal={deal}
          onClose={() => setLosing(false)}
          onReason={(r) => {
            setLosing(false);
            const lost = pipeline?.stages.find((s) => s.status === "lost");
            if (lost) move(lost.key, r);
          }}
        />
      )}
    </>
  );
}
