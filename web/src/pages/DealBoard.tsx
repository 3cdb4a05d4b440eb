// The Kanban board: a column per stage with its totals (from the rollups, which follow a move
// within a second or two), cards by close date. A card moves by drag and drop or, from the
// keyboard, by choosing a stage and pressing Move; the move shows at once and is rolled back with the reason
// when the API refuses it (a stale version, a closed deal). The lost stage asks for its reason.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import type { components } from "../api/schema";
import { AccountLink } from "../components/Accounts";
import { Modal } from "../components/Modal";
import { UserName } from "../components/People";
import { toast } from "../components/Toast";
import { calendarDate, count, money } from "../lib/format";
import { Amount } from "./Deals";

type Board = components["schemas"]["PipelineBoard"];
type Column = components["schemas"]["BoardColumn"];
type Opportunity = components["schemas"]["Opportunity"];

/** `PUT …/move-stage` with the version read. */
export async function moveDeal(deal: Opportunity, stage: string, lostReason?: string) {
  return api.PUT("/api/companies/{company_id}/deals/{deal_id}/move-stage", {
    params: { path: { company_id: companyId(), deal_id: deal.id } },
    body: { stage, version: deal.version, ...(lostReason ? { lost_reason: lostReason } : {}) },
  });
}

function Totals({ column }: { column: Column }) {
  const t = column.totals;
  return (
    <div class="small text-body-secondary" data-totals={column.stage.key}>
      {count(t.count)} {t.count === 1 ? "deal" : "deals"}
      {t.amounts.map((a) => (
        <div>
          <span class="fw-semibold text-body">{money(a.amount_minor, a.currency)}</span> · weighted {money(a.weighted_minor, a.currency)}
        </div>
      ))}
    </div>
  );
}

export function Board({ reload }: { reload: number }) {
  const [board, setBoard] = useState<Board | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [asking, setAsking] = useState<{ deal: Opportunity; stage: string } | null>(null);
  const [over, setOver] = useState<string | null>(null);
  const refresh = useRef(0);
  // The card being dragged (some browsers hand the drop no data of their own).
  const dragged = useRef<string | null>(null);
  const canWrite = session.value?.role !== "viewer";

  const load = async () => {
    const { data, error } = await api.GET("/api/companies/{company_id}/deals/pipeline-view", { params: { path: { company_id: companyId() } } });
    if (data) setBoard(data);
    else setFailed(error?.detail ?? "Could not load the board.");
  };
  useEffect(() => {
    load();
    return () => clearTimeout(refresh.current);
  }, [reload]);

  const more = async (stage: string, cursor: string) => {
    const { data } = await api.GET("/api/companies/{company_id}/deals/pipeline-view", {
      params: { path: { company_id: companyId() }, query: { stage, cursor } },
    });
    const page = data?.columns[0];
    if (!page || !board) return;
    setBoard({ ...board, columns: board.columns.map((c) => (c.stage.key === stage ? { ...c, cards: [...c.cards, ...page.cards], next_cursor: page.next_cursor } : c)) });
  };

  const move = async (deal: Opportunity, to: string, reason?: string) => {
    if (!board || deal.stage === to) return;
    const target = board.columns.find((c) => c.stage.key === to);
    if (target?.stage.status === "lost" && !reason) return setAsking({ deal, stage: to });
    const before = board;
    // Shown at once; the card goes back if the API refuses the move.
    const moved = { ...deal, stage: to };
    setBoard({
      ...board,
      columns: board.columns.map((c) =>
        c.stage.key === deal.stage ? { ...c, cards: c.cards.filter((d) => d.id !== deal.id) } : c.stage.key === to ? { ...c, cards: [moved, ...c.cards] } : c,
      ),
    });
    const { data, error } = await moveDeal(deal, to, reason);
    if (!data) {
      setBoard(before);
      // Someone else changed it meanwhile: read the board again, so the next try has its version.
      if (error?.status === 409) void load();
      toast(`${deal.name} stays in ${board.columns.find((c) => c.stage.key === deal.stage)?.stage.label}: ${error?.errors?.[0]?.message ?? error?.detail ?? "the move failed"}`, "danger");
      return;
    }
    toast(`${deal.name} moved to ${target?.stage.label}.`);
    setBoard((b) => b && { ...b, columns: b.columns.map((c) => ({ ...c, cards: c.cards.map((d) => (d.id === data.id ? data : d)) })) });
    // The column totals follow through the rollups: read them again shortly.
    clearTimeout(refresh.current);
    refresh.current = window.setTimeout(() => {
      void load();
      refresh.current = window.setTimeout(load, 4000);
    }, 1500);
  };

  if (failed) return <div class="alert alert-warning">{failed}</div>;
  if (!board) return <div class="text-body-secondary p-3">Loading the board…</div>;
  return (
    <div class="board" id="board" aria-label={`${board.name} board`}>
      {board.columns.map((c) => (
        <section
          class={`board-column card border-0 shadow-sm ${over === c.stage.key ? "drop-target" : ""}`}
          data-stage={c.stage.key}
          aria-labelledby={`col-${c.stage.key}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(c.stage.key);
          }}
          onDragLeave={() => setOver(null)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(null);
            const id = dragged.current ?? e.dataTransfer?.getData("text/plain");
            dragged.current = null;
            const deal = board.columns.flatMap((col) => col.cards).find((d) => d.id === id);
            if (deal) move(deal, c.stage.key);
          }}
        >
          <header class="card-header bg-transparent">
            <h2 class="h6 mb-1" id={`col-${c.stage.key}`}>
              {c.stage.label}
            </h2>
            <div class="small text-body-secondary">{c.stage.probability} % probability</div>
            <Totals column={c} />
          </header>
          <ul class="list-unstyled p-2 mb-0 board-cards">
            {c.cards.map((d) => (
              <li
                class="board-card card mb-2"
                data-deal-id={d.id}
                draggable={canWrite && d.status === "open"}
                onDragStart={(e) => {
                  dragged.current = d.id;
                  e.dataTransfer?.setData("text/plain", d.id);
                  if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
                }}
              >
                <div class="card-body p-2">
                  <a class="fw-semibold text-decoration-none d-block" href={`/deals/${d.id}`} draggable={false}>
                    {d.name}
                  </a>
                  <div class="small">
                    <AccountLink id={d.account_id} />
                  </div>
                  <div class="d-flex flex-wrap justify-content-between column-gap-2 small mt-1">
                    <span class="fw-semibold">
                      <Amount amount={d.amount} />
                    </span>
                    <span class="text-body-secondary">{calendarDate(d.close_date)}</span>
                  </div>
                  <div class="small text-body-secondary">
                    <UserName id={d.owner_id} />
                  </div>
                  {canWrite && d.status === "open" && (
                    <form
                      class="d-flex flex-column gap-1 mt-2"
                      onSubmit={(e) => {
                        e.preventDefault();
                        const select = e.currentTarget.elements.namedItem("to") as HTMLSelectElement;
                        if (select.value) move(d, select.value);
                      }}
                    >
                      <select class="form-select form-select-sm" name="to" aria-label={`Stage to move ${d.name} to`}>
                        {board.columns
                          .filter((o) => o.stage.key !== d.stage)
                          .map((o) => (
                            <option value={o.stage.key}>{o.stage.label}</option>
                          ))}
                      </select>
                      <button class="btn btn-sm btn-outline-primary" aria-label={`Move to this stage: ${d.name}`}>
                        Move to this stage
                      </button>
                    </form>
                  )}
                </div>
              </li>
            ))}
            {c.cards.length === 0 && <li class="small text-body-secondary p-2">No deals</li>}
          </ul>
          {c.next_cursor && (
            <button class="btn btn-sm btn-link" onClick={() => more(c.stage.key, c.next_cursor!)}>
              Show more
            </button>
          )}
        </section>
      ))}
      {asking && (
        <LostReason
          deal={asking.deal}
          onClose={() => setAsking(null)}
          onReason={(reason) => {
            const { deal, stage } = asking;
            setAsking(null);
            move(deal, stage, reason);
          }}
        />
      )}
    </div>
  );
}

/** Asks why a deal was lost before it moves there. */
export function LostReason({ deal, onClose, onReason }: { deal: Opportunity; onClose: () => void; onReason: (reason: string) => void }) {
  const [reason, setReason] = useState("");
  const submit = (e: Event) => {
    e.preventDefault();
    if (reason.trim()) onReason(reason.trim());
  };
  return (
    <Modal
      title={`Why was ${deal.name} lost?`}
      onClose={onClose}
      footer={
        <>
          <button class="btn btn-outline-secondary" onClick={onClose}>
            Cancel
          </button>
          <button class="btn btn-danger" id="lost-submit" type="submit" form="lost-form" disabled={!reason.trim()}>
            Mark as lost
          </button>
        </>
      }
    >
      <form id="lost-form" onSubmit={submit}>
        <label class="form-label" for="lost-reason">
          Reason
        </label>
        <input class="form-control" id="lost-reason" data-autofocus placeholder="e.g. went with a competitor" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <div class="form-text">Lost is final: the deal leaves the pipeline and its account's open opportunities.</div>
      </form>
    </Modal>
  );
}
