// Scores explained: a 0–100 meter, and the factors behind it as bars with their reasons (a lead's
// risk, an account's health). Colour is never the only signal: each bar says what it means in words.
import type { ComponentChildren } from "preact";

export type Tone = "success" | "warning" | "danger" | "muted";

/** A 0–100 score as a meter with its number. */
export function ScoreMeter({ label, score, tone, note }: { label: string; score: number; tone: Tone; note?: ComponentChildren }) {
  return (
    <div class="mb-3">
      <div class="d-flex justify-content-between align-items-baseline mb-1">
        <span class="fw-semibold">{label}</span>
        <span>
          <span class="fs-4 fw-semibold" data-score>
            {score}
          </span>
          <span class="text-body-secondary small"> / 100</span>
        </span>
      </div>
      <div class="meter" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={score}>
        <div class={`meter-fill tone-${tone}`} style={{ width: `${score}%` }} />
      </div>
      {note && <div class="small text-body-secondary mt-1">{note}</div>}
    </div>
  );
}

export interface Factor {
  key: string;
  label: string;
  /** How full the bar is, 0–1. */
  fill: number;
  tone: Tone;
  /** What the factor counts for, in words (e.g. "+20", "30 of 40"). */
  value: ComponentChildren;
  why: string;
  /** Drawn stronger: the factors that count now. */
  strong?: boolean;
}

export function FactorBars({ factors, id }: { factors: Factor[]; id: string }) {
  return (
    <ul class="list-unstyled mb-0 factors" id={id}>
      {factors.map((f) => (
        <li class={`factor ${f.strong ? "factor-strong" : ""}`} data-factor={f.key}>
          <div class="d-flex justify-content-between gap-2">
            <span class={f.strong ? "fw-semibold" : ""}>{f.label}</span>
            <span class="text-nowrap small">{f.value}</span>
          </div>
          <div class="bar-track" aria-hidden="true">
            <div class={`bar-fill tone-${f.tone}`} style={{ width: `${Math.round(100 * f.fill)}%` }} />
          </div>
          <div class="small text-body-secondary">{f.why}</div>
        </li>
      ))}
    </ul>
  );
}
