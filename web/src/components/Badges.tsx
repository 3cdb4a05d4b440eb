import { bandLabel, roleLabel } from "../lib/format";

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
