// A lead's qualification, as parts of its record page: the BANT / MEDDICC assessment, the
// conversion checklist, the risk score, the history, and the decisions (recycle, disqualify,
// reverse).
import { useState } from "preact/hooks";
import { api, companyId, type Lead } from "../api/client";
import type { components } from "../api/schema";
import type { Condition } from "../api/types";
import { StatusBadge } from "../components/Badges";
import { FactorBars, ScoreMeter, type Tone } from "../components/Factors";
import { Field, FormAlert, SelectField, useForm, values } from "../components/Form";
import { Modal } from "../components/Modal";
import { Panel, type TimelineEntry } from "../components/RecordPage";
import { useSubmissionKey } from "../lib/idempotency";
import { calendarDate, dayFromToday, sentenceCase } from "../lib/format";

export type QualificationView = components["schemas"]["QualificationView"];
type HistoryEntry = components["schemas"]["HistoryEntry"];
export type RiskScore = components["schemas"]["RiskScore"];
export type QualificationPolicy = components["schemas"]["QualificationPolicy"];
type QualifyResult = components["schemas"]["QualifyResult"];
type Assessment = components["schemas"]["Assessment"];

const BANT = ["budget", "authority", "need", "timeline"] as const;
const MEDDICC = ["metrics", "economic_buyer", "decision_criteria", "decision_process", "identify_pain", "champion", "competition"] as const;
const MEDDICC_STATUSES: [string, string][] = [
  ["unknown", "Unknown"],
  ["weak", "Weak"],
  ["confirmed", "Confirmed"],
];
const TABS = [
  ["bant", "BANT"],
  ["meddicc", "MEDDICC"],
] as const;
type Tab = (typeof TABS)[number][0];

/** Why a lead in these statuses takes no assessment or decision (the API refuses them). */
const CLOSED: Record<string, string> = {
  converted: "The lead is converted: its assessment is history.",
  archived: "The lead is archived: restore it to assess it again.",
  unqualified: "The lead is disqualified: a manager can reverse that, and then it can be assessed again.",
};

/** Whether the lead may still be assessed or decided on. */
export const isOpen = (lead: Lead) => !(lead.status in CLOSED);

/** The method tabs: ←/→ (and Home/End) move between them, as the ARIA tabs pattern has it. */
function Tabs({ active, onChange }: { active: Tab; onChange: (t: Tab) => void }) {
  const go = (i: number) => {
    const [key] = TABS[(i + TABS.length) % TABS.length];
    onChange(key);
    document.getElementById(`tab-${key}`)?.focus();
  };
  const at = TABS.findIndex(([k]) => k === active);
  return (
    <div
      class="nav nav-tabs mb-3"
      role="tablist"
      aria-label="Qualification method"
      onKeyDown={(e) => {
        const moves: Record<string, number> = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: TABS.length - 1 };
        if (e.key in moves) {
          e.preventDefault();
          go(moves[e.key]);
        }
      }}
    >
      {TABS.map(([key, label]) => (
        <button
          type="button"
          role="tab"
          class={`nav-link ${key === active ? "active" : ""}`}
          id={`tab-${key}`}
          aria-selected={key === active}
          aria-controls={`panel-${key}`}
          tabIndex={key === active ? 0 : -1}
          onClick={() => onChange(key)}
        >
          {label}
        </button>
      ))}
    </div>
  );
}

/** The assessment as the API takes it, from the form: a method is sent when anything of it is filled. */
function assessmentBody(data: Record<string, string>) {
  const body: components["schemas"]["QualifyRequest"] = {};
  if (BANT.some((k) => data[`bant.${k}`].trim() !== "")) {
    const score = (k: string) => (data[`bant.${k}`].trim() === "" ? null : Number(data[`bant.${k}`]));
    body.bant = { budget: score("budget"), authority: score("authority"), need: score("need"), timeline: score("timeline") };
    body.evidence = Object.fromEntries(BANT.map((k) => [k, data[`evidence.${k}`].trim() || null]));
  }
  const meddicc = Object.fromEntries(
    MEDDICC.map((k) => [k, { status: data[`meddicc.${k}.status`] as components["schemas"]["MeddiccStatus"], notes: data[`meddicc.${k}.notes`].trim() || null }]),
  );
  if (Object.values(meddicc).some((i) => i.status !== "unknown" || i.notes)) body.meddicc = meddicc;
  return body;
}

function Outcome({ result }: { result: QualifyResult }) {
  const unmet = result.conditions.filter((c) => !c.met);
  return (
    <div class={`alert ${result.outcome === "qualified" ? "alert-success" : "alert-warning"}`} role="status" id="qualify-outcome">
      <strong>{result.outcome === "qualified" ? "Qualified" : "Nurturing"}</strong> · score {result.score}.{" "}
      {unmet.length === 0 ? "Every condition of your policy is met." : `Not yet: ${unmet.map((c) => c.why).join("; ")}.`}
    </div>
  );
}

/** The BANT and MEDDICC assessment, filled in from the latest one; saving records a new one. */
export function QualificationPanel({
  lead,
  current,
  policy,
  canAssess,
  actions,
  onAssessed,
}: {
  lead: Lead;
  current: Assessment | null | undefined;
  policy: QualificationPolicy | null;
  canAssess: boolean;
  actions?: preact.ComponentChildren;
  onAssessed: () => void;
}) {
  const form = useForm();
  const key = useSubmissionKey();
  const [tab, setTab] = useState<Tab>(current?.bant || !current?.meddicc ? "bant" : "meddicc");
  const [bant, setBant] = useState<Record<string, string>>(() => Object.fromEntries(BANT.map((k) => [k, current?.bant ? String(current.bant[k]) : ""])));
  const [result, setResult] = useState<QualifyResult | null>(null);
  const total = BANT.reduce((sum, k) => sum + (Number(bant[k]) || 0), 0);
  const min = policy?.bant_min_total ?? 70;
  const submit = async (e: Event) => {
    const body = assessmentBody(values(e));
    if (!body.bant && !body.meddicc) return form.say("Score the BANT items, set MEDDICC statuses, or both.");
    form.start();
    try {
      const r = await api.POST("/api/companies/{company_id}/leads/{lead_id}/qualify", {
        params: { path: { company_id: companyId(), lead_id: lead.id }, header: { "Idempotency-Key": key.current() } },
        body,
      });
      key.answered();
      if (!r.data) {
        // The first field at fault gets the focus: show its tab.
        const first = r.error?.errors?.[0]?.field;
        if (first) setTab(first.startsWith("meddicc.") ? "meddicc" : "bant");
        return form.fail(r.error ?? {}, r.response);
      }
      form.done();
      setResult(r.data);
      onAssessed();
    } catch {
      // No answer (the network): the same key goes with the retry, so one assessment is recorded.
      form.say("The server could not be reached. Your input is kept: try again.");
    }
  };
  const why = !canAssess && (CLOSED[lead.status] ?? "Viewers read assessments; assessing needs a sales rep, manager or administrator.");
  return (
    <Panel title="Qualification" id="qualification" actions={actions}>
      <form id="qualify-form" noValidate onSubmit={submit}>
        <Tabs active={tab} onChange={setTab} />
        {why && <p class="small text-body-secondary">{why}</p>}
        <fieldset disabled={!canAssess}>
          <legend class="visually-hidden">Assessment</legend>
          <div role="tabpanel" id="panel-bant" aria-labelledby="tab-bant" hidden={tab !== "bant"}>
            {BANT.map((k) => (
              <div class="row g-2 align-items-start" data-bant={k}>
                <Field
                  class="col-5 col-md-3 mb-2"
                  name={`bant.${k}`}
                  id={`bant-${k}`}
                  label={`${sentenceCase(k)} (0–25)`}
                  type="number"
                  min={0}
                  max={25}
                  step={1}
                  defaultValue={bant[k]}
                  onInput={(e) => setBant({ ...bant, [k]: e.currentTarget.value })}
                  error={form.errors[`bant.${k}`]}
                />
                <Field
                  class="col-7 col-md-9 mb-2"
                  name={`evidence.${k}`}
                  id={`evidence-${k}`}
                  label={`${sentenceCase(k)} evidence`}
                  placeholder="What backs this score (optional)"
                  defaultValue={current?.evidence?.[k] ?? ""}
                  error={form.errors[`evidence.${k}`]}
                />
              </div>
            ))}
            <ScoreMeter
              label="BANT total"
              score={total}
              tone={total >= min ? "success" : "warning"}
              note={`Qualifies at ${min} or more${policy?.bant_no_zero_item !== false ? ", with no item at 0" : ""} (your company's policy).`}
            />
          </div>
          <div role="tabpanel" id="panel-meddicc" aria-labelledby="tab-meddicc" hidden={tab !== "meddicc"}>
            {MEDDICC.map((k) => (
              <div class="row g-2" data-meddicc={k}>
                <SelectField
                  class="col-5 col-md-4 mb-2"
                  name={`meddicc.${k}.status`}
                  id={`meddicc-${k}-status`}
                  label={`${sentenceCase(k)}${policy?.meddicc_required.includes(k) ? " (required)" : ""}`}
                  options={MEDDICC_STATUSES}
                  defaultValue={current?.meddicc?.[k]?.status ?? "unknown"}
                  error={form.errors[`meddicc.${k}.status`]}
                />
                <Field
                  class="col-7 col-md-8 mb-2"
                  name={`meddicc.${k}.notes`}
                  id={`meddicc-${k}-notes`}
                  label={`${sentenceCase(k)} notes`}
                  placeholder="Optional"
                  defaultValue={current?.meddicc?.[k]?.notes ?? ""}
                  error={form.errors[`meddicc.${k}.notes`]}
                />
              </div>
            ))}
          </div>
        </fieldset>
        <FormAlert alert={form.alert} />
        {/* The outcome stands until anything else moves the lead (a decision, an edit). */}
        {result && result.version >= lead.version && <Outcome result={result} />}
        {canAssess && (
          <div class="d-flex justify-content-between align-items-center gap-2">
            <span class="small text-body-secondary">Both methods are saved together as one assessment.</span>
            <button class="btn btn-primary" type="submit" id="qualify-submit" disabled={form.busy}>
              {form.busy && <span class="spinner-border spinner-border-sm me-1" aria-hidden="true" />}
              Save assessment
            </button>
          </div>
        )}
      </form>
    </Panel>
  );
}

const CONDITION_LABELS: Record<string, string> = { status: "Status", bant_total: "BANT total", bant_no_zero_item: "No BANT item at 0" };
const conditionLabel = (c: string) => CONDITION_LABELS[c] ?? (c.startsWith("meddicc.") ? `MEDDICC ${sentenceCase(c.slice(8)).toLowerCase()}` : sentenceCase(c));

/** Each condition for conversion, met or not, and why. */
export function Checklist({ conditions, id }: { conditions: Condition[]; id: string }) {
  return (
    <ul class="list-unstyled mb-0" id={id}>
      {conditions.map((c) => (
        <li class="d-flex gap-2 mb-2" data-condition={c.condition} data-met={String(c.met)}>
          <span class={`fw-bold ${c.met ? "text-success-emphasis" : "text-danger-emphasis"}`} aria-hidden="true">
            {c.met ? "✓" : "✗"}
          </span>
          <span>
            <span class="visually-hidden">{c.met ? "Met: " : "Not met: "}</span>
            <span class="fw-semibold">{conditionLabel(c.condition)}</span>
            <span class="d-block small text-body-secondary">{c.why}</span>
          </span>
        </li>
      ))}
    </ul>
  );
}

export function EligibilityPanel({ view }: { view: QualificationView }) {
  return (
    <Panel title="Conversion checklist" id="eligibility">
      <p class={`small fw-semibold ${view.eligible ? "text-success-emphasis" : "text-body-secondary"}`} id="eligible">
        {view.eligible ? "Ready to convert." : "Not ready to convert yet."}
      </p>
      <Checklist conditions={view.conversion_eligibility} id="eligibility-list" />
    </Panel>
  );
}

const riskTone = (score: number): Tone => (score < 30 ? "success" : score < 60 ? "warning" : "danger");

/** The deal risk: a meter, and each factor's weight as a bar (the ones that apply drawn in red). */
export function RiskPanel({ risk }: { risk: RiskScore }) {
  const heaviest = Math.max(1, ...risk.factors.map((f) => f.weight));
  return (
    <Panel title="Risk" id="risk">
      <ScoreMeter label="Deal risk" score={risk.score} tone={riskTone(risk.score)} note="The weights of the factors that apply, added up." />
      <FactorBars
        id="risk-factors"
        factors={risk.factors.map((f) => ({
          key: f.factor,
          label: sentenceCase(f.factor),
          fill: f.weight / heaviest,
          tone: f.applies ? "danger" : "muted",
          value: f.applies ? `applies · +${f.weight}` : `clear · 0 of ${f.weight}`,
          why: f.why,
          strong: f.applies,
        }))}
      />
    </Panel>
  );
}

const DECISIONS: Record<string, string> = { recycled: "Recycled", disqualified: "Disqualified", reversed: "Decision reversed" };

/** The qualification history (newest first) as timeline entries. */
export function historyEntries(history: HistoryEntry[]): TimelineEntry[] {
  return history.map((h) =>
    h.record === "assessment"
      ? {
          key: h.id,
          title: (
            <>
              Assessed: <StatusBadge status={h.outcome} /> score {h.score}
            </>
          ),
          by: h.assessed_by,
          at: h.assessed_at,
          detail: [h.bant && `BANT ${h.bant.budget} / ${h.bant.authority} / ${h.bant.need} / ${h.bant.timeline}`, h.meddicc_score != null && `MEDDICC ${h.meddicc_score}`]
            .filter(Boolean)
            .join(" · "),
        }
      : {
          key: h.id,
          title: (
            <>
              {DECISIONS[h.decision] ?? h.decision}: <StatusBadge status={h.status} />
            </>
          ),
          by: h.decided_by,
          at: h.decided_at,
          detail: (
            <>
              “{h.reason}”{h.revisit_on && <span class="text-body-secondary"> · revisit {calendarDate(h.revisit_on)}</span>}
            </>
          ),
        },
  );
}

export type DecisionKind = "recycle" | "disqualify" | "reverse";

const DECISION_TEXT: Record<DecisionKind, { title: string; about: string; action: string }> = {
  recycle: { title: "Recycle this lead", about: "It goes back to nurturing, to be looked at again on the date you choose.", action: "Recycle" },
  disqualify: { title: "Disqualify this lead", about: "It leaves the pipeline for one of your company's reasons; a manager can reverse that.", action: "Disqualify" },
  reverse: { title: "Reverse the latest decision", about: "The lead returns to the status it had before the latest recycle or disqualification.", action: "Reverse decision" },
};

/** Recycle (reason + revisit date), disqualify (a reason of the policy) or reverse (reason). */
export function DecisionDialog({
  kind,
  lead,
  policy,
  onDone,
  onClose,
}: {
  kind: DecisionKind;
  lead: Lead;
  policy: QualificationPolicy | null;
  onDone: (lead: Lead) => void;
  onClose: () => void;
}) {
  const form = useForm();
  const text = DECISION_TEXT[kind];
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    const path = { company_id: companyId(), lead_id: lead.id };
    try {
      const r =
        kind === "recycle"
          ? await api.POST("/api/companies/{company_id}/leads/{lead_id}/recycle", { params: { path }, body: { reason: data.reason, revisit_on: data.revisit_on } })
          : kind === "disqualify"
            ? await api.POST("/api/companies/{company_id}/leads/{lead_id}/disqualify", { params: { path }, body: { reason: data.reason } })
            : await api.POST("/api/companies/{company_id}/leads/{lead_id}/reverse-decision", { params: { path }, body: { reason: data.reason } });
      if (r.data) onDone(r.data);
      else form.fail(r.error ?? {}, r.response);
    } catch {
      form.say("The server could not be reached. Try again.");
    }
  };
  return (
    <Modal
      title={text.title}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class={`btn ${kind === "disqualify" ? "btn-danger" : "btn-primary"}`} form="decision-form" id="decision-submit" disabled={form.busy}>
            {text.action}
          </button>
        </>
      }
    >
      <form id="decision-form" noValidate onSubmit={submit}>
        <p>{text.about}</p>
        <FormAlert alert={form.alert} />
        {kind === "disqualify" ? (
          <SelectField name="reason" id="decision-reason" label="Reason" options={(policy?.disqualify_reasons ?? []).map((r) => [r, r])} error={form.errors.reason} />
        ) : (
          <Field name="reason" id="decision-reason" label="Reason" required error={form.errors.reason} />
        )}
        {kind === "recycle" && (
          <Field name="revisit_on" id="decision-revisit" label="Look at it again on" type="date" required min={dayFromToday(1)} defaultValue={dayFromToday(30)} error={form.errors.revisit_on} />
        )}
      </form>
    </Modal>
  );
}
