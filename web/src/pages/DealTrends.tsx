// Month-by-month trends as bar charts: won revenue, win rate, average deal size, average sales
// cycle and pipeline created. SVG drawn here (no chart library to load): each bar carries its value
// as a title, and each chart a table of the same numbers for screen readers.
import { useEffect, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { money } from "../lib/format";

type Trend = components["schemas"]["TrendMonth"];

const monthLabel = (m: string) => new Intl.DateTimeFormat(undefined, { month: "short", timeZone: "UTC" }).format(new Date(`${m}-01T00:00:00Z`));

function Chart({ id, title, points, format }: { id: string; title: string; points: { month: string; value: number | null }[]; format: (v: number) => string }) {
  const max = Math.max(1, ...points.map((p) => p.value ?? 0));
  const w = 100 / points.length;
  return (
    <figure class="card border-0 shadow-sm h-100 mb-0" id={id}>
      <div class="card-body">
        <figcaption class="h6">{title}</figcaption>
        <svg class="trend-chart" viewBox="0 0 100 44" preserveAspectRatio="none" aria-hidden="true">
          {points.map((p, i) => {
            const h = ((p.value ?? 0) / max) * 40;
            return (
              <rect class="trend-bar" x={i * w + w * 0.15} y={42 - h} width={w * 0.7} height={h}>
                <title>
                  {monthLabel(p.month)}: {p.value === null ? "—" : format(p.value)}
                </title>
              </rect>
            );
          })}
          <line class="trend-axis" x1="0" y1="42" x2="100" y2="42" />
        </svg>
        <div class="trend-months small text-body-secondary" aria-hidden="true">
          {points.map((p) => (
            <span>{monthLabel(p.month)}</span>
          ))}
        </div>
        <table class="visually-hidden">
          <caption>{title}</caption>
          <tbody>
            {points.map((p) => (
              <tr>
                <th scope="row">{p.month}</th>
                <td>{p.value === null ? "none" : format(p.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

export function Trends() {
  const [months, setMonths] = useState<Trend[] | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [currency, setCurrency] = useState("");
  useEffect(() => {
    api.GET("/api/companies/{company_id}/deals/trend-analysis", { params: { path: { company_id: companyId() }, query: { months: 12 } } }).then(({ data, error }) => {
      if (data) setMonths(data.months);
      else setFailed(error?.detail ?? "Could not load the trends.");
    });
  }, []);
  if (failed) return <div class="alert alert-warning">{failed}</div>;
  if (!months) return <div class="text-body-secondary p-3">Loading the trends…</div>;
  const currencies = [...new Set(months.flatMap((m) => [...m.won.map((w) => w.currency), ...m.pipeline_created.map((p) => p.currency)]))].sort();
  const cur = currencies.includes(currency) ? currency : (currencies[0] ?? "EUR");
  const won = (m: Trend) => m.won.find((w) => w.currency === cur);
  const cash = (v: number) => money(v, cur);
  return (
    <>
      {currencies.length > 1 && (
        <div class="mb-3" style={{ maxWidth: "12rem" }}>
          <label class="form-label small mb-1" for="t-currency">
            Currency
          </label>
          <select class="form-select form-select-sm" id="t-currency" value={cur} onChange={(e) => setCurrency(e.currentTarget.value)}>
            {currencies.map((c) => (
              <option>{c}</option>
            ))}
          </select>
        </div>
      )}
      <div class="row g-3" id="trends">
        <div class="col-lg-6">
          <Chart id="trend-won" title={`Won revenue (${cur})`} points={months.map((m) => ({ month: m.month, value: won(m)?.amount_minor ?? 0 }))} format={cash} />
        </div>
        <div class="col-lg-6">
          <Chart id="trend-win-rate" title="Win rate" points={months.map((m) => ({ month: m.month, value: m.win_rate_percent ?? null }))} format={(v) => `${v} %`} />
        </div>
        <div class="col-lg-4">
          <Chart id="trend-size" title={`Average deal size (${cur})`} points={months.map((m) => ({ month: m.month, value: won(m)?.average_minor ?? null }))} format={cash} />
        </div>
        <div class="col-lg-4">
          <Chart id="trend-cycle" title="Average sales cycle" points={months.map((m) => ({ month: m.month, value: m.average_sales_cycle_days ?? null }))} format={(v) => `${v} days`} />
        </div>
        <div class="col-lg-4">
          <Chart
            id="trend-created"
            title={`Pipeline created (${cur})`}
            points={months.map((m) => ({ month: m.month, value: m.pipeline_created.find((p) => p.currency === cur)?.value_minor ?? 0 }))}
            format={cash}
          />
        </div>
      </div>
    </>
  );
}
