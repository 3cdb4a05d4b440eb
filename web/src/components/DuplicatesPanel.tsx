// A lead's possible duplicates: who may be the same person, the rule that matched and how alike
// the names are. Flagged, never blocked: a person decides. The badge in the lead's header counts
// them; the panel lists them most certain first.
import type { components } from "../api/schema";
import { StatusBadge } from "./Badges";
import { Panel } from "./RecordPage";

export type Duplicates = components["schemas"]["Duplicates"];

const RULES: Record<string, string> = {
  same_email: "Same email",
  same_phone: "Same phone number",
  similar_name_same_company: "Similar name, same company",
  similar_name_same_domain: "Similar name, same email domain",
};

export function DuplicateBadge({ duplicates }: { duplicates?: Duplicates }) {
  const n = duplicates?.candidates.length ?? 0;
  if (n === 0) return null;
  return (
    <a class="badge text-bg-warning text-decoration-none" href="#duplicates" id="duplicate-badge" title="Leads that may be the same person">
      {n === 1 ? "1 possible duplicate" : `${n} possible duplicates`}
    </a>
  );
}

export function DuplicatesPanel({ duplicates }: { duplicates?: Duplicates }) {
  if (!duplicates || duplicates.candidates.length === 0) return null;
  return (
    <Panel title="Possible duplicates" id="duplicates">
      <ul class="list-unstyled mb-0">
        {duplicates.candidates.map((c) => {
          const percent = Math.round(c.similarity * 100);
          return (
            <li class="mb-3" key={c.lead.id} data-candidate={c.lead.id}>
              <div class="d-flex justify-content-between align-items-baseline gap-2">
                <a href={`/leads/${c.lead.id}`} class="fw-semibold">
                  {c.lead.first_name} {c.lead.last_name}
                </a>
                <StatusBadge status={c.lead.status} />
              </div>
              <div class="small text-body-secondary">{[c.lead.company_name, c.lead.email, c.lead.phone].filter(Boolean).join(" · ")}</div>
              <div class="d-flex flex-wrap gap-1 my-1">
                {c.rules.map((r) => (
                  <span class="badge text-bg-light border" key={r}>
                    {RULES[r] ?? r}
                  </span>
                ))}
              </div>
              <div class="d-flex align-items-center gap-2 small" title="How alike the names are">
                <div
                  class="progress flex-grow-1"
                  style="height: 6px"
                  role="progressbar"
                  aria-label="Name similarity"
                  aria-valuenow={percent}
                  aria-valuemin={0}
                  aria-valuemax={100}
                >
                  <div class={`progress-bar ${percent >= 85 ? "bg-warning" : "bg-secondary"}`} style={`width: ${percent}%`} />
                </div>
                <span class="text-body-secondary text-nowrap">names {percent}% alike</span>
              </div>
            </li>
          );
        })}
      </ul>
    </Panel>
  );
}
