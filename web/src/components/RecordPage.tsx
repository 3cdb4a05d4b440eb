// The layout every record page shares (leads, accounts, contacts; deals later): a header with the
// key facts and actions, sections of details, and a column for the timeline.
import type { ComponentChildren } from "preact";
import { when } from "../lib/format";
import { UserName } from "./People";

export function RecordPage({
  back,
  title,
  subtitle,
  badges,
  actions,
  facts,
  children,
  aside,
}: {
  back: { href: string; label: string };
  title: string;
  subtitle?: ComponentChildren;
  badges?: ComponentChildren;
  actions?: ComponentChildren;
  facts: { label: string; value: ComponentChildren }[];
  children: ComponentChildren;
  aside?: ComponentChildren;
}) {
  return (
    <article id="record">
      <nav class="small mb-2" aria-label="Breadcrumb">
        <a href={back.href} class="text-decoration-none">
          ← {back.label}
        </a>
      </nav>
      <header class="card border-0 shadow-sm mb-3">
        <div class="card-body">
          <div class="d-flex flex-wrap justify-content-between align-items-start gap-2">
            <div>
              <h1 class="h3 mb-1">{title}</h1>
              {subtitle && <div class="text-body-secondary">{subtitle}</div>}
              {badges && <div class="mt-2 d-flex gap-2 align-items-center">{badges}</div>}
            </div>
            {actions && <div class="d-flex flex-wrap gap-2">{actions}</div>}
          </div>
          <dl class="row mt-3 mb-0 record-facts">
            {facts.map((f) => (
              <div class="col-sm-6 col-lg-3">
                <dt class="small text-body-secondary fw-normal">{f.label}</dt>
                <dd class="mb-2">{f.value}</dd>
              </div>
            ))}
          </dl>
        </div>
      </header>
      <div class="row g-3">
        <div class="col-lg-8">{children}</div>
        <aside class="col-lg-4">{aside}</aside>
      </div>
    </article>
  );
}

/** A titled card of label → value pairs. */
export function Section({ title, rows }: { title: string; rows: [string, ComponentChildren][] }) {
  return (
    <section class="card border-0 shadow-sm mb-3" aria-label={title}>
      <div class="card-body">
        <h2 class="h6 text-uppercase text-body-secondary mb-3">{title}</h2>
        <dl class="row mb-0">
          {rows.map(([label, value]) => (
            <>
              <dt class="col-sm-4 fw-normal text-body-secondary">{label}</dt>
              <dd class="col-sm-8">{value === null || value === undefined || value === "" ? <span class="text-body-secondary">—</span> : value}</dd>
            </>
          ))}
        </dl>
      </div>
    </section>
  );
}

/** A titled card of anything, with actions beside its title. */
export function Panel({ title, id, actions, children }: { title: string; id: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card border-0 shadow-sm mb-3" aria-labelledby={`${id}-title`} id={id}>
      <div class="card-body">
        <div class="d-flex flex-wrap justify-content-between align-items-start gap-2 mb-3">
          <h2 class="h6 text-uppercase text-body-secondary mb-0" id={`${id}-title`}>
            {title}
          </h2>
          {actions && <div class="d-flex flex-wrap gap-2">{actions}</div>}
        </div>
        {children}
      </div>
    </section>
  );
}

export interface TimelineEntry {
  key: string;
  title: ComponentChildren;
  /** Who did it (a user id: shown by name). */
  by?: string;
  at: string;
  detail?: ComponentChildren;
}

/** What happened to a record, newest first, for the record page's side column. */
export function Timeline({ title = "Timeline", id = "timeline", entries, empty }: { title?: string; id?: string; entries: TimelineEntry[]; empty?: string }) {
  return (
    <Panel title={title} id={`${id}-panel`}>
      {entries.length === 0 ? (
        <p class="small text-body-secondary mb-0">{empty ?? "Nothing yet."}</p>
      ) : (
        <ol class="list-unstyled small mb-0 timeline" id={id}>
          {entries.map((e) => (
            <li class="mb-3" key={e.key}>
              <span class="fw-semibold">{e.title}</span>
              {e.by && (
                <>
                  {" "}
                  by <UserName id={e.by} />
                </>
              )}
              <div class="text-body-secondary">{when(e.at)}</div>
              {e.detail && <div class="mt-1">{e.detail}</div>}
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
