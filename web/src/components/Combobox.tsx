// Choosing a record by typing part of its name (↑/↓ to move, Enter to pick, Esc to close), the
// ARIA combobox pattern: what people pick (colleagues, accounts) comes from the pickers built on it.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";

export interface Option {
  id: string;
  label: string;
  detail?: ComponentChildren;
}

export function Combobox({
  name,
  label,
  value,
  chosen,
  options,
  onType,
  onChange,
  error,
  placeholder,
  small,
}: {
  name: string;
  label: string;
  /** The chosen record's id, which the form gets under `name`. */
  value: string;
  /** The chosen record's name, shown while nothing is being typed. */
  chosen: string;
  /** The matches for what is typed. */
  options: Option[];
  onType: (typed: string) => void;
  onChange?: (id: string) => void;
  error?: string;
  placeholder: string;
  small?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const pick = (id: string) => {
    onChange?.(id);
    setTyped(null);
    setOpen(false);
  };
  return (
    <div class="position-relative">
      <label class={small ? "form-label small mb-1" : "form-label"} for={`${name}-search`}>
        {label}
      </label>
      <input type="hidden" name={name} value={value} />
      <input
        id={`${name}-search`}
        class={`form-control ${small ? "form-control-sm" : ""} ${error ? "is-invalid" : ""}`}
        role="combobox"
        aria-expanded={open}
        aria-controls={`${name}-options`}
        aria-autocomplete="list"
        aria-activedescendant={open && options[active] ? `${name}-option-${options[active].id}` : undefined}
        autocomplete="off"
        placeholder={placeholder}
        value={typed ?? chosen}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onInput={(e) => {
          const text = e.currentTarget.value;
          setTyped(text);
          setActive(0);
          setOpen(true);
          onType(text);
          if (text === "") onChange?.("");
        }}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") setActive((a) => Math.min(a + 1, options.length - 1));
          else if (e.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
          else if (e.key === "Enter" && open && options[active]) {
            e.preventDefault();
            pick(options[active].id);
          } else if (e.key === "Escape" && open) {
            // Closes the list only, not a dialog the picker is in.
            e.stopPropagation();
            setOpen(false);
          }
        }}
      />
      <div class="invalid-feedback" data-error-for={name}>
        {error}
      </div>
      {open && options.length > 0 && (
        <ul class="dropdown-menu show w-100" id={`${name}-options`} role="listbox">
          {options.map((o, i) => (
            // Options are chosen with the arrows and Enter while focus stays in the box (Tab leaves it).
            <li
              key={o.id}
              id={`${name}-option-${o.id}`}
              role="option"
              aria-selected={i === active}
              class={`dropdown-item ${i === active ? "active" : ""}`}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => pick(o.id)}
            >
              {/* Dimmed detail, except on the highlighted option, where dimming would lose its contrast. */}
              {o.label} {o.detail && <span class={`small ${i === active ? "" : "opacity-75"}`}>{o.detail}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
