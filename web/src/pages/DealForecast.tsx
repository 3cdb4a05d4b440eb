// The forecast of a quarter: the company's categories, each owner as a stacked bar (pipeline, best
// case, commit, closed) with quota attainment, as of today or any past day; and what moved the
// forecast between two days, each change with its deal and its effect.
import { useEffect, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { UserName } from "../components/People";
import { count, money, when, words } from "../lib/format";
import { usePoll } from "../lib/poll";
import { CATEGORY_LABELS, CategoryBadge } from "./Deals";

type Report = components["schemas"]["ForecastReport"];
type Moves = components["schemas"]["ForecastMoves"];
type CategoryTotal = components["schemas"]["CategoryTotal"];

const SHOWN = ["pipeline", "best_case", "commit", "closed"] as const;

export function quarterOf(d: Date): string {
  return `${d.getUTCFullYear()}-Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
}

function quarters(): string[] {
  const now = new Date();
  return [-2, -1, 0, 1, 2].map((n) => quarterOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 3 * n, 1))));
}

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

function amountIn(c: CategoryTotal | undefined, currency: string) {
  return c?.amounts.find((a) => a.currency === currency)?.amount_minor ?? 0;
}

function currenciesOf(report: Report): string[] {
  const all = new Set<string>();
  for (const c of report.categories) for (const a of c.amounts) all.add(a.currency);
  for (const q of report.quota) all.add(q.currency);
  return [...all].sort();
}

type Q = Record<string, string>;

export function Forecast({ q, setQ }: { q: Q; setQ: (n: Q) => void }) {
  const period = q.period || quarterOf(new Date());
  const [report, setReport] = useState<Report | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [currency, setCurrency] = useState("");
  const fetchReport = async () => {
    const query: Record<string, string> = { period };
    if (q.as_of) query.as_of = q.as_of;
    const { data, error } = await api.GET("/api/companies/{company_id}/deals/forecast", { params: { path: { company_id: companyId() }, query } });
    if (data) setReport(data);
    else setFailed(error?.detail ?? "Could not load the forecast.");
    return data ? JSON.stringify([data.categories, data.owners]) : null;
  };
  useEffect(() => {
    setReport(null);
    void fetchReport();
  }, [period, q.as_of]);
  // Today's forecast follows the deals as their events arrive; a past day's stands still.
  usePoll(async () => (q.as_of ? "as of a day" : fetchReport()));
  const currencies = report ? currenciesOf(report) : [];
  const cur = currencies.includes(currency) ? currency : (currencies[0] ?? "EUR");
  const byCategory = (cats: CategoryTotal[], k: string) => cats.find((c) => c.category === k);
  const ownerTotal = (cats: CategoryTotal[]) => SHOWN.reduce((sum, k) => sum + amountIn(byCategory(cats, k), cur), 0);
  const widest = report ? Math.max(1, ...report.owners.map((o) => ownerTotal(o.categories)), ...report.owners.map((o) => (o.quota?.currency === cur ? o.quota.quota_minor : 0))) : 1;

  return (
    <>
      <form class="card card-body border-0 shadow-sm mb-3" aria-label="Forecast period" onSubmit={(e) => e.preventDefault()}>
        <div class="row g-2 align-items-end">
          <div class="col-sm-4 col-lg-2">
            <label class="form-label small mb-1" for="f-period">
              Quarter
            </label>
            <select class="form-select form-select-sm" id="f-period" value={period} onChange={(e) => setQ({ period: e.currentTarget.value })}>
              {quarters().map((p) => (
                <option value={p}>{p}</option>
              ))}
            </select>
          </div>
          <div class="col-sm-4 col-lg-2">
            <label class="form-label small mb-1" for="f-as-of">
              As of
            </label>
            <input type="date" class="form-control form-control-sm" id="f-as-of" max={today()} value={q.as_of} onChange={(e) => setQ({ as_of: e.currentTarget.value })} />
          </div>
          {currencies.length > 1 && (
            <div class="col-sm-4 col-lg-2">
              <label class="form-label small mb-1" for="f-currency">
                Currency
              </label>
              <select class="form-select form-select-sm" id="f-currency" value={cur} onChange={(e) => setCurrency(e.currentTarget.value)}>
                {currencies.map((c) => (
                  <option>{c}</option>
                ))}
              </select>
            </div>
          )}
          <div class="col small text-body-secondary">{q.as_of ? `The forecast as it stood at the end of ${q.as_of}.` : "The forecast now."}</div>
        </div>
      </form>
      {failed && <div class="alert alert-warning">{failed}</div>}
      {report && (
        <>
          <div class="row g-3 mb-3" id="forecast-categories">
            {SHOWN.map((k) => {
              const c = byCategory(report.categories, k);
              const a = c?.amounts.find((x) => x.currency === cur);
              return (
                <div class="col-6 col-lg-3">
                  <div class="card border-0 shadow-sm h-100" data-category={k}>
                    <div class="card-body">
                      <div class="small text-body-secondary">
                        <span class={`legend-dot category-${k}`} aria-hidden="true" /> {CATEGORY_LABELS[k]}
                      </div>
                      <div class="h4 mb-0" data-amount={a?.amount_minor ?? 0}>
                        {money(a?.amount_minor ?? 0, cur)}
                      </div>
                      <div class="small text-body-secondary">
                        {count(c?.count ?? 0)} {c?.count === 1 ? "deal" : "deals"} · weighted {money(a?.weighted_minor ?? 0, cur)}
                      </div>
                    </div>
                  </div>
                </div>
              );
            })}
          </div>
          <div class="card border-0 shadow-sm mb-3">
            <div class="card-body">
              <h2 class="h6">By owner ({cur})</h2>
              {report.quota
                .filter((a) => a.currency === cur)
                .map((a) => (
                  <p class="small mb-2" id="quota-attainment">
                    Company quota {money(a.quota_minor, cur)}: {money(a.closed_minor, cur)} closed, <strong>{a.attainment_percent} %</strong> attained.
                  </p>
                ))}
              {report.owners.length === 0 && <p class="text-body-secondary mb-0">Nothing closes in {period} yet.</p>}
              <ul class="list-unstyled mb-0" aria-label="Forecast per owner">
                {report.owners.map((o) => {
                  const quota = o.quota?.currency === cur ? o.quota : null;
                  return (
                    <li class="owner-forecast mb-2" data-owner={o.owner_id}>
                      <div class="d-flex justify-content-between small">
                        <UserName id={o.owner_id} />
                        <span>
                          {money(ownerTotal(o.categories), cur)}
                          {quota && ` · quota ${money(quota.quota_minor, cur)} (${quota.attainment_percent} %)`}
                        </span>
                      </div>
                      <div class="stacked-bar" role="img" aria-label={SHOWN.map((k) => `${CATEGORY_LABELS[k]} ${money(amountIn(byCategory(o.categories, k), cur), cur)}`).join(", ")}>
                        {SHOWN.map((k) => (
                          <span class={`stacked-part category-${k}`} style={{ width: `${(100 * amountIn(byCategory(o.categories, k), cur)) / widest}%` }} />
                        ))}
                        {quota && <span class="quota-mark" style={{ left: `${Math.min(100, (100 * quota.quota_minor) / widest)}%` }} title="Quota" />}
                      </div>
                    </li>
                  );
                })}
              </ul>
              <div class="small text-body-secondary mt-2">
                {SHOWN.map((k) => (
                  <span class="me-3">
                    <span class={`legend-dot category-${k}`} aria-hidden="true" /> {CATEGORY_LABELS[k]}
                  </span>
                ))}
              </div>
            </div>
          </div>
          <WhatMoved period={period} q={q} setQ={setQ} currency={cur} seen={JSON.stringify(report.categories)} />
        </>
      )}
    </>
  );
}

/** `seen` changes when the forecast does: the list is read again with it. */
function WhatMoved({ period, q, setQ, currency, seen }: { period: string; q: Q; setQ: (n: Q) => void; currency: string; seen: string }) {
  const from = q.from || daysAgo(30);
  const to = q.to || today();
  const [moves, setMoves] = useState<Moves | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    api.GET("/api/companies/{company_id}/deals/forecast/changes", { params: { path: { company_id: companyId() }, query: { period, from, to } } }).then(({ data, error }) => {
      setMoves(data ?? null);
      setFailed(data ? null : (error?.errors?.[0]?.message ?? error?.detail ?? "Could not load the changes."));
    });
  }, [period, from, to, seen]);
  return (
    <div class="card border-0 shadow-sm" id="what-moved">
      <div class="card-body">
        <div class="d-flex flex-wrap gap-2 align-items-end mb-2">
          <h2 class="h6 me-auto mb-0">What moved</h2>
          <label class="small" for="f-from">
            From the end of
          </label>
          <input type="date" class="form-control form-control-sm w-auto" id="f-from" max={today()} value={from} onChange={(e) => setQ({ from: e.currentTarget.value })} />
          <label class="small" for="f-to">
            to the end of
          </label>
          <input type="date" class="form-control form-control-sm w-auto" id="f-to" max={today()} value={to} onChange={(e) => setQ({ to: e.currentTarget.value })} />
        </div>
        {failed && <div class="alert alert-warning small">{failed}</div>}
        {moves && moves.changes.items.length === 0 && <p class="text-body-secondary mb-0">Nothing moved the {period} forecast in these days.</p>}
        {moves && moves.changes.items.length > 0 && (
          <table class="table table-sm align-middle mb-0">
            <caption class="visually-hidden">Changes to the forecast</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Deal</th>
                <th scope="col">Change</th>
                <th scope="col">Effect</th>
              </tr>
            </thead>
            <tbody>
              {moves.changes.items.map((c) => (
                <tr data-kind={c.kind}>
                  <td class="small text-nowrap">{when(c.at)}</td>
                  <td>
                    <a href={`/deals/${c.deal_id}`}>{c.deal_name}</a>
                  </td>
                  <td>
                    <span class="badge text-bg-light border">{words(c.kind)}</span>
                  </td>
                  <td class="small">
                    {c.effect.map((e) => {
                      const a = e.amounts.find((x) => x.currency === currency);
                      const sign = (n: number) => (n > 0 ? "+" : "");
                      return (
                        <div>
                          <CategoryBadge category={e.category} /> {sign(e.count)}
                          {e.count} {a && `· ${sign(a.amount_minor)}${money(a.amount_minor, currency)}`}
                        </div>
                      );
                    })}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
