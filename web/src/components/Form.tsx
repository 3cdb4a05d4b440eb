// Forms that speak the API's problems: each `errors[]` entry lands under its field, anything else
// in the form's alert, and what the person typed stays (a 409 or 422 never clears the form).
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import type { Problem } from "../api/client";
import { words } from "../lib/format";

export interface FormState {
  errors: Record<string, string>;
  alert: ComponentChildren | null;
  busy: boolean;
}

/** Shows `p` (with the Retry-After of a 429, when there is one) and focuses the first field at fault. */
export function useForm() {
  const [state, setState] = useState<FormState>({ errors: {}, alert: null, busy: false });
  return {
    ...state,
    start: () => setState({ errors: {}, alert: null, busy: true }),
    done: () => setState((s) => ({ ...s, busy: false })),
    fail(p: Partial<Problem>, response?: Response, extra?: ComponentChildren) {
      const errors: Record<string, string> = {};
      for (const e of p.errors ?? []) errors[e.field] = e.message;
      // An error about something the form has no field for (a value the record supplies, a
      // condition) is said in the alert, so it is never lost.
      const unplaced = (p.errors ?? []).filter((e) => !document.querySelector(`[data-error-for="${CSS.escape(e.field)}"]`));
      const wait = Number(response?.headers.get("retry-after") ?? 0);
      const alert =
        p.status === 429 && wait > 0
          ? `Too many attempts. Try again in ${wait >= 120 ? `${Math.ceil(wait / 60)} minutes` : `${wait} seconds`}.`
          : unplaced.length
            ? (
                <>
                  {p.detail}
                  <ul class="mb-0">
                    {unplaced.map((e) => (
                      <li>
                        {words(e.field)}: {e.message}
                      </li>
                    ))}
                  </ul>
                </>
              )
            : Object.keys(errors).length
              ? null
              : (p.detail ?? p.title ?? "Something went wrong.");
      setState({ errors, alert: alert || extra ? <>{alert} {extra}</> : null, busy: false });
      requestAnimationFrame(() => document.querySelector<HTMLElement>("form .is-invalid")?.focus());
    },
    /** A message of our own in the alert. */
    say(alert: ComponentChildren) {
      setState({ errors: {}, alert, busy: false });
    },
  };
}

/** What the forms here set on an input beside its name and label. */
interface InputProps {
  type?: string;
  autocomplete?: string;
  defaultValue?: string;
  placeholder?: string;
  min?: number | string;
  max?: number | string;
  step?: number;
  onInput?: (e: Event & { currentTarget: HTMLInputElement }) => void;
}

/** A labelled input with its error under it (`aria-describedby`), as every form here lays them out. */
export function Field({
  name,
  id,
  label,
  error,
  hint,
  required,
  class: cls = "mb-3",
  ...input
}: { name: string; id?: string; label: string; error?: string; hint?: string; required?: boolean; class?: string } & Omit<InputProps, "id">) {
  const inputId = id ?? name;
  const described = [error ? `${inputId}-error` : "", hint ? `${inputId}-hint` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={cls}>
      <label class="form-label" for={inputId}>
        {label}
        {required && (
          <span class="text-danger" aria-hidden="true">
            {" "}
            *
          </span>
        )}
      </label>
      <input
        class={`form-control ${error ? "is-invalid" : ""}`}
        id={inputId}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        aria-required={required || undefined}
        autocomplete="off"
        {...(input as Record<string, unknown>)}
      />
      {hint && (
        <div class="form-text" id={`${inputId}-hint`}>
          {hint}
        </div>
      )}
      <div class="invalid-feedback" id={`${inputId}-error`} data-error-for={name}>
        {error}
      </div>
    </div>
  );
}

/** A labelled select with its error under it, laid out like `Field`. */
export function SelectField({
  name,
  id,
  label,
  options,
  error,
  hint,
  class: cls = "mb-3",
  small,
  ...select
}: {
  name: string;
  id?: string;
  label: string;
  /** value → label */
  options: [string, string][];
  error?: string;
  hint?: string;
  class?: string;
  small?: boolean;
  value?: string;
  defaultValue?: string;
  onChange?: (e: Event & { currentTarget: HTMLSelectElement }) => void;
}) {
  // A <select> has no default value of its own: the option starts selected instead.
  const { defaultValue, ...controlled } = select;
  const selectId = id ?? name;
  const described = [error ? `${selectId}-error` : "", hint ? `${selectId}-hint` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={cls}>
      <label class={small ? "form-label small mb-1" : "form-label"} for={selectId}>
        {label}
      </label>
      <select
        class={`form-select ${small ? "form-select-sm" : ""} ${error ? "is-invalid" : ""}`}
        id={selectId}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        {...controlled}
      >
        {options.map(([value, text]) => (
          <option value={value} selected={defaultValue === undefined ? undefined : value === defaultValue}>
            {text}
          </option>
        ))}
      </select>
      {hint && (
        <div class="form-text" id={`${selectId}-hint`}>
          {hint}
        </div>
      )}
      <div class="invalid-feedback" id={`${selectId}-error`} data-error-for={name}>
        {error}
      </div>
    </div>
  );
}

export function FormAlert({ alert, tone = "danger" }: { alert: ComponentChildren | null; tone?: string }) {
  if (!alert) return null;
  return (
    <div class={`alert alert-${tone}`} role="alert">
      {alert}
    </div>
  );
}

/** The values of a submitted form, by field name. */
export function values(e: Event): Record<string, string> {
  e.preventDefault();
  return Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
}
