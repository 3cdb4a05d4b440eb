import { bandLabel, healthLabel, roleLabel, words } from "../lib/format";

const STATUS_CLASSES: Record<string, string> = {
  new: "text-bg-primary",
  contacted: "text-bg-info",
  nurturing: "text-bg-secondary",
  qualified: "text-bg-success",
  unqualified: "text-bg-warning",
  converted: "text-bg-dark",
  archived: "text-bg-light border",
};

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge rounded-pill ${STATUS_CLASSES[status] ?? "text-bg-secondary"}`}>{status}</span>;
}

/** The lead score with its band's colour (cold red, warm orange, hot yellow, very hot green). */
export function ScoreBadge({ score, band }: { score: number; band: string }) {
  return (
    <span class="text-nowrap">
      <span class={`badge score-badge score-${band}`} title={`${bandLabel(band)} lead`}>
        {score}
      </span>
      <span class="small text-body-secondary ms-1">{bandLabel(band)}</span>
    </span>
  );
}

const JOB_CLASSES: Record<string, string> = {
  queued: "text-bg-secondary",
  running: "text-bg-primary",
  succeeded: "text-bg-success",
  failed: "text-bg-danger",
};

export function JobStateBadge({ state }: { state: string }) {
  return <span class={`badge ${JOB_CLASSES[state] ?? "text-bg-secondary"}`}>{state}</span>;
}

export function RoleBadge({ role }: { role: string }) {
  return <span class="badge text-bg-light border text-capitalize">{roleLabel(role)}</span>;
}

export function UserStateBadge({ active, invited }: { active: boolean; invited: boolean }) {
  if (!active) return <span class="badge text-bg-secondary">deactivated</span>;
  if (invited)
    return (
      <span class="badge text-bg-warning" title="Has not chosen a password through the emailed invitation yet">
        invited
      </span>
    );
  return <span class="badge text-bg-success">active</span>;
}

const LIFECYCLE_CLASSES: Record<string, string> = {
  prospect: "text-bg-primary",
  customer: "text-bg-success",
  churned: "text-bg-danger",
  inactive: "text-bg-secondary",
};

/** Where an account stands with us: prospect blue, customer green, churned red, inactive grey. */
export function LifecycleBadge({ lifecycle }: { lifecycle: string }) {
  return (
    <span class={`badge rounded-pill ${LIFECYCLE_CLASSES[lifecycle] ?? "text-bg-secondary"}`} data-lifecycle={lifecycle}>
      {lifecycle}
    </span>
  );
}

/** An account's health score with its band's colour (healthy green, watch amber, at risk red). */
export function HealthBadge({ score, band }: { score: number; band: string }) {
  return (
    <span class="text-nowrap" data-health={band}>
      <span class={`badge score-badge health-${band}`} title={`Health: ${healthLabel(band)}`}>
        {score}
      </span>
      <span class="small text-body-secondary ms-1">{healthLabel(band)}</span>
    </span>
  );
}

const CONTACT_ROLE_TONES: Record<string, string> = {
  decision_maker: "primary",
  executive: "dark",
  champion: "success",
  influencer: "info",
  technical: "secondary",
  end_user: "secondary",
};

/** A contact's part in buying: the subtle tones keep the text readable in both themes. */
function ContactRoleBadge({ role }: { role: string }) {
  const tone = CONTACT_ROLE_TONES[role] ?? "secondary";
  return <span class={`badge bg-${tone}-subtle text-${tone}-emphasis border border-${tone}-subtle`}>{words(role)}</span>;
}

/** A contact's roles, and "primary" for the account's primary contact. */
export function ContactRoles({ roles, primary }: { roles: string[]; primary?: boolean }) {
  return (
    <span class="d-inline-flex flex-wrap align-items-center align-self-center gap-1">
      {primary && (
        <span class="badge text-bg-warning" title="The account's primary contact">
          <span aria-hidden="true">★ </span>primary
        </span>
      )}
      {roles.map((r) => (
        <ContactRoleBadge role={r} />
      ))}
    </span>
  );
}

const STAGE_CLASSES: Record<string, string> = {
  prospecting: "text-bg-light border",
  qualification: "text-bg-info",
  needs_analysis: "text-bg-primary",
  proposal: "text-bg-warning",
  negotiation: "stage-negotiation",
  closed_won: "text-bg-success",
  closed_lost: "text-bg-danger",
};

/** A deal's pipeline stage, warming in colour as it nears closing. */
export function StageBadge({ stage }: { stage: string }) {
  return <span class={`badge ${STAGE_CLASSES[stage] ?? "text-bg-secondary"}`}>{words(stage)}</span>;
}
