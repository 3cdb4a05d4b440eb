import { html, type Raw } from "./html";

// Score bands and their colours as the sales team knows them: 0-30 cold (red), 31-50 warm
// (orange), 51-70 hot (yellow), 71-100 very hot (green).
const BANDS: Record<string, { label: string; cls: string }> = {
  cold: { label: "Cold", cls: "score-cold" },
  warm: { label: "Warm", cls: "score-warm" },
  hot: { label: "Hot", cls: "score-hot" },
  very_hot: { label: "Very hot", cls: "score-very-hot" },
};

export function scoreBadge(score: number, band: string): Raw {
  const b = BANDS[band] ?? BANDS.cold;
  return html`<span class="badge score-badge ${b.cls}" title="${b.label} lead">${score}</span>
    <span class="small text-body-secondary ms-1">${b.label}</span>`;
}

const STATUS_CLASSES: Record<string, string> = {
  new: "text-bg-primary",
  contacted: "text-bg-info",
  nurturing: "text-bg-secondary",
  qualified: "text-bg-success",
  unqualified: "text-bg-warning",
  converted: "text-bg-dark",
  archived: "text-bg-light border",
};

export function statusBadge(status: string): Raw {
  return html`<span class="badge rounded-pill ${STATUS_CLASSES[status] ?? "text-bg-secondary"}">${status}</span>`;
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export const STATUSES = ["new", "contacted", "nurturing", "qualified", "unqualified", "converted", "archived"];
export const BAND_NAMES = Object.keys(BANDS);
export const bandLabel = (b: string) => BANDS[b]?.label ?? b;
