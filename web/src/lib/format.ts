// Dates, numbers and money in the user's own locale and time zone (Intl), and the product's names
// for statuses and score bands.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const number = new Intl.NumberFormat();
// Calendar dates (`2027-03-31`: a close date, a revisit date) are days, not moments: read in UTC so
// no reader's zone moves them to the day before.
const calendar = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

/** A moment, e.g. "Nov 26, 2026, 9:24 AM" in the reader's zone. */
export const when = (iso: string) => dateTime.format(new Date(iso));
export const day = (iso: string) => dateOnly.format(new Date(iso));
export const count = (n: number) => number.format(n);
/** A calendar date (`YYYY-MM-DD`), e.g. "Mar 31, 2027", the same day in every zone. */
export const calendarDate = (ymd: string) => calendar.format(new Date(`${ymd}T00:00:00Z`));

/** `YYYY-MM-DD` of the reader's day `days` from today, for date inputs. */
export function dayFromToday(days: number): string {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

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

/** What a person typed ("12500.5") in `currency`'s minor units (1250050 for USD), or null when it is no amount. */
export function toMinor(amount: string, currency: string): number | null {
  const value = Number(amount);
  if (amount.trim() === "" || !Number.isFinite(value)) return null;
  const digits = new Intl.NumberFormat(undefined, { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  return Math.round(value * 10 ** digits);
}

// The currencies offered for deal amounts; the API takes any ISO 4217 code.
export const CURRENCIES = ["USD", "EUR", "GBP", "BRL", "CAD", "AUD", "CHF", "JPY", "INR", "MXN", "SEK", "NOK", "DKK", "PLN", "ZAR"] as const;

export const STATUSES = ["new", "contacted", "nurturing", "qualified", "unqualified", "converted", "archived"] as const;
/** The statuses a person sets by editing a lead. */
export const MANUAL_STATUSES = ["new", "contacted", "nurturing"] as const;

// Score bands as the sales team knows them: 0-30 cold, 31-50 warm, 51-70 hot, 71-100 very hot.
export const BANDS = ["cold", "warm", "hot", "very_hot"] as const;
export const bandLabel = (b: string) => ({ cold: "Cold", warm: "Warm", hot: "Hot", very_hot: "Very hot" })[b] ?? b;
/** A key as words: `needs_analysis` → "needs analysis". */
export const words = (key: string) => key.replaceAll("_", " ");
export const roleLabel = (r: string) => words(r);
/** A key as a label: `economic_buyer` → "Economic buyer". */
export const sentenceCase = (key: string) => words(key).replace(/^./, (c) => c.toUpperCase());

// Accounts, contacts and deals as the API names them.
export const LIFECYCLES = ["prospect", "customer", "churned", "inactive"] as const;
export const ACCOUNT_TYPES = ["prospect", "customer", "partner", "reseller", "other"] as const;
/** Headcount bands, as the API accepts them. */
export const ACCOUNT_SIZES = ["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+"] as const;
export const CONTACT_ROLES = ["decision_maker", "influencer", "champion", "end_user", "technical", "executive"] as const;
/** The stages a deal can be in while open, in pipeline order. */
export const OPEN_STAGES = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation"] as const;
export const healthLabel = (b: string) => ({ healthy: "Healthy", watch: "Watch", at_risk: "At risk" })[b] ?? words(b);

/**
 * The lifecycle moves the API allows from each lifecycle, other than deactivating (any → inactive,
 * offered on its own): prospect → customer → churned → customer, inactive → prospect.
 */
export const LIFECYCLE_MOVES: Record<string, { to: string; label: string }[]> = {
  prospect: [{ to: "customer", label: "Mark as customer" }],
  customer: [{ to: "churned", label: "Mark as churned" }],
  churned: [{ to: "customer", label: "Won back: customer" }],
  inactive: [{ to: "prospect", label: "Reactivate as prospect" }],
};
