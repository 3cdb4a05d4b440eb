// A record's timeline (lead, account, contact or deal): what happened, newest first, a page at a
// time, filtered by type; with quick "log a call" and "add a note" that relate the new activity to
// this record and the records it belongs to (a deal's account), so it shows on their timelines too.
import { useEffect, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import type { components } from "../api/schema";
import { when, words } from "../lib/format";
import { useSubmissionKey } from "../lib/idempotency";
import { UserName } from "./People";
import { Panel } from "./RecordPage";
import { toast } from "./Toast";

type Activity = components["schemas"]["Activity"];
type Related = components["schemas"]["Related"];
export type RecordKind = Related["kind"];

const TYPES = ["call", "email", "meeting", "note", "task", "whatsapp", "stage_change", "system"] as const;

/** A type as a small badge people can scan down the list. */
/** A capture channel that logged an activity (its `created_by`), or undefined for a person. */
function channelName(createdBy: string) {
  if (createdBy === "whatsapp") return "WhatsApp";
  if (createdBy.startsWith("form:")) return "a web form";
  return undefined;
}

export function ActivityBadge({ type }: { type: string }) {
  return <span class={`badge activity-badge activity-${type} me-1`}>{words(type)}</span>;
}

const TIMELINE_PATHS = {
  lead: "/api/companies/{company_id}/leads/{lead_id}/timeline",
  account: "/api/companies/{company_id}/customers/{account_id}/timeline",
  contact: "/api/companies/{company_id}/contacts/{contact_id}/timeline",
  deal: "/api/companies/{company_id}/deals/{deal_id}/timeline",
} as const;

async function loadPage(kind: RecordKind, id: string, type: string, cursor: string | null) {
  const query = { limit: 20, ...(type ? { type } : {}), ...(cursor ? { cursor } : {}) };
  const company_id = companyId();
  // Each record kind has its own route; the answer is the same page of activities.
  switch (kind) {
    case "lead":
      return api.GET(TIMELINE_PATHS.lead, { params: { path: { company_id, lead_id: id }, query } });
    case "account":
      return api.GET(TIMELINE_PATHS.account, { params: { path: { company_id, account_id: id }, query } });
    case "contact":
      return api.GET(TIMELINE_PATHS.contact, { params: { path: { company_id, contact_id: id }, query } });
    default:
      return api.GET(TIMELINE_PATHS.deal, { params: { path: { company_id, deal_id: id }, query } });
  }
}

function QuickLog({ kind, related, onLogged, onCancel }: { kind: "call" | "note"; related: Related[]; onLogged: () => void; onCancel: () => void }) {
  const [error, setError] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const key = useSubmissionKey();
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (n: string) => String(f.get(n) ?? "").trim() || undefined;
    const minutes = Number(f.get("duration_minutes") || 0);
    setBusy(true);
    try {
      const { data, error: problem } = await api.POST("/api/companies/{company_id}/activities", {
        params: { path: { company_id: companyId() }, header: { "Idempotency-Key": key.current() } },
        body: {
          type: kind,
          subject: text("subject") ?? "",
          body: text("body"),
          outcome: kind === "call" ? text("outcome") : undefined,
          duration_minutes: kind === "call" && minutes > 0 ? minutes : undefined,
          related,
        },
      });
      key.answered();
      if (!data) {
        const fields = Object.fromEntries((problem?.errors ?? []).map((x) => [x.field, x.message]));
        setError(Object.keys(fields).length ? fields : { subject: problem?.detail ?? "Could not save." });
        return;
      }
      toast(kind === "call" ? "Call logged." : "Note added.");
      onLogged();
    } catch {
      setError({ subject: "The server could not be reached. Try again: it will not be saved twice." });
    } finally {
      setBusy(false);
    }
  };
  const field = (name: string) => (error[name] ? "is-invalid" : "");
  return (
    <form class="quick-log border rounded p-2 mb-3" id={`log-${kind}`} onSubmit={submit} noValidate>
      <label class="form-label small mb-1" for={`${kind}-subject`}>
        {kind === "call" ? "Call subject" : "Note"}
      </label>
      <input class={`form-control form-control-sm ${field("subject")}`} id={`${kind}-subject`} name="subject" required maxLength={200} placeholder={kind === "call" ? "Discovery call" : "What to remember"} />
      {error.subject && <div class="invalid-feedback">{error.subject}</div>}
      <label class="form-label small mb-1 mt-2" for={`${kind}-body`}>
        Details
      </label>
      <textarea class={`form-control form-control-sm ${field("body")}`} id={`${kind}-body`} name="body" rows={2} maxLength={10000} />
      {kind === "call" && (
        <div class="d-flex gap-2 mt-2">
          <div class="flex-grow-1">
            <label class="form-label small mb-1" for="call-outcome">
              Outcome
            </label>
            <input class={`form-control form-control-sm ${field("outcome")}`} id="call-outcome" name="outcome" maxLength={200} placeholder="Connected" />
          </div>
          <div style={{ width: "7rem" }}>
            <label class="form-label small mb-1" for="call-duration">
              Minutes
            </label>
            <input class={`form-control form-control-sm ${field("duration_minutes")}`} id="call-duration" name="duration_minutes" type="number" min={0} max={10080} />
          </div>
        </div>
      )}
      <div class="d-flex gap-2 mt-2">
        <button class="btn btn-sm btn-primary" disabled={busy} id={`save-${kind}`}>
          {busy ? "Saving…" : kind === "call" ? "Log call" : "Add note"}
        </button>
        <button type="button" class="btn btn-sm btn-link" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function ActivityTimeline({ kind, id, related }: { kind: RecordKind; id: string; related: Related[] }) {
  const [items, setItems] = useState<Activity[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [type, setType] = useState("");
  const [logging, setLogging] = useState<"call" | "note" | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const role = session.value?.role;
  const canLog = role === "admin" || role === "manager" || role === "sales_rep";
  const load = async (cursor: string | null) => {
    try {
      const { data, error } = await loadPage(kind, id, type, cursor);
      if (!data) return setFailed(error?.detail ?? "The timeline could not be read.");
      setFailed(null);
      setItems((before) => (cursor && before ? [...before, ...data.items] : data.items));
      setNext(data.next_cursor ?? null);
    } catch {
      setFailed("The server could not be reached.");
    }
  };
  useEffect(() => {
    setItems(null);
    load(null);
  }, [kind, id, type]);
  return (
    <Panel
      title="Timeline"
      id="activity-timeline-panel"
      actions={
        canLog && (
          <>
            <button class="btn btn-sm btn-outline-primary" id="log-call-open" onClick={() => setLogging("call")}>
              Log a call
            </button>
            <button class="btn btn-sm btn-outline-secondary" id="add-note-open" onClick={() => setLogging("note")}>
              Add a note
            </button>
          </>
        )
      }
    >
      {logging && (
        <QuickLog
          kind={logging}
          related={related}
          onCancel={() => setLogging(null)}
          onLogged={() => {
            setLogging(null);
            load(null);
          }}
        />
      )}
      <label class="visually-hidden" for="timeline-type">
        Show
      </label>
      <select class="form-select form-select-sm mb-2" id="timeline-type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
        <option value="">Everything</option>
        {TYPES.map((t) => (
          <option value={t}>{words(t)}</option>
        ))}
      </select>
      {failed && <p class="small text-danger mb-2">{failed}</p>}
      {items === null ? (
        <p class="small text-body-secondary mb-0">Loading…</p>
      ) : items.length === 0 ? (
        <p class="small text-body-secondary mb-0">Nothing yet.</p>
      ) : (
        <ol class="list-unstyled small mb-0 timeline" id="activity-timeline">
          {items.map((a) => (
            <li class="mb-3" key={a.id}>
              <ActivityBadge type={a.type} />
              <span class="fw-semibold">{a.subject}</span>
              {a.created_by && !["system", "stage_change"].includes(a.type) && (
                <>
                  {" "}
                  {channelName(a.created_by) ? `via ${channelName(a.created_by)}` : <>by <UserName id={a.created_by} /></>}
                </>
              )}
              <div class="text-body-secondary">
                {when(a.occurred_at)}
                {a.duration_minutes ? ` · ${a.duration_minutes} min` : ""}
                {a.outcome ? ` · ${a.outcome}` : ""}
              </div>
              {a.body && <div class="mt-1 text-pre-wrap">{a.body}</div>}
            </li>
          ))}
        </ol>
      )}
      {next && (
        <button class="btn btn-sm btn-link px-0" onClick={() => load(next)}>
          Show older
        </button>
      )}
    </Panel>
  );
}
