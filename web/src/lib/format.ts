// Dates, numbers and money in the user's own locale and time zone (Intl), and the product's names
// for statuses and score bands.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const number = new Intl.NumberFormat();

/** A moment, e.g. "Nov 26, 2026, 9:24 AM" in the reader's zone. */
export const when = (iso: string) => dateTime.format(new Date(iso));
export const day = (iso: string) => dateOnly.format(new Date(iso));
export const count = (n: number) => number.format(n);

/** "3 minutes ago", "yesterday": for what changed recently. */
export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const steps: [Intl.RelativeTimeFormatUnit, number][] = [["second", 60], ["minute", 60], ["hour", 24], ["day", 30], ["month", 12]];
  let value = seconds;
  for (const [unit, size] of steps) {
    if (Math.abs(value) < size) return relative.format(value, unit);
    value = Math.round(value / size);
  }
  return relative.format(value, "year");
}

/** Money held as minor units with its currency (`{value_minor: 125000, currency: "EUR"}` → "€1,250.00"). */
export function money(valueMinor: number, currency: string): string {
  const f = new Intl.NumberFormat(undefined, { style: "currency", currency });
  const digits = f.resolvedOptions().maximumFractionDigits ?? 2;
  return f.format(valueMinor / 10 ** digits);
}

export const STATUSES = ["new", "contacted", "nurturing", "qualified", "unqualified", "converted", "archived"] as const;

// Score bands as the sales team knows them: 0-30 cold, 31-50 warm, 51-70 hot, 71-100 very hot.
export const BANDS = ["cold", "warm", "hot", "very_hot"] as const;
export const bandLabel = (b: string) => ({ cold: "Cold", warm: "Warm", hot: "Hot", very_hot: "Very hot" })[b] ?? b;
export const roleLabel = (r: string) => r.replace("_", " ");
