// People by name, never by id: the id stays in the tooltip.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { loadUsers, users, usersById } from "../lib/users";

export function UserName({ id }: { id: string }) {
  useEffect(() => void loadUsers(), []);
  const user = usersById.value.get(id);
  return (
    <span title={`${user?.email ?? "user"} · ${id}`} data-user-id={id}>
      {user ? user.full_name : <span class="text-body-secondary">unknown user</span>}
    </span>
  );
}

/**
 * Chooses a colleague by typing part of their name or email (↑/↓ to move, Enter to pick, Esc to
 * close). The form gets the chosen user's id under `name`.
 */
export function UserPicker({
  name,
  label,
  value,
  onChange,
  error,
  placeholder = "Type a name",
  small,
}: {
  name: string;
  label: string;
  value: string;
  onChange?: (id: string) => void;
  error?: string;
  placeholder?: string;
  small?: boolean;
}) {
  useEffect(() => void loadUsers(), []);
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  const chosen = usersById.value.get(value);
  const matches = useMemo(() => {
    const q = (typed ?? "").toLowerCase();
    return (users.value ?? [])
      .filter((u) => u.active && (u.full_name.toLowerCase().includes(q) || u.email.toLowerCase().includes(q)))
      .slice(0, 8);
  }, [typed, users.value]);
  const pick = (id: string) => {
    onChange?.(id);
    setTyped(null);
    setOpen(false);
  };
  const size = small ? "form-control-sm" : "";
  return (
    <div class="position-relative">
      <label class={small ? "form-label small mb-1" : "form-label"} for={`${name}-search`}>
        {label}
      </label>
      <input type="hidden" name={name} value={value} />
      <input
        ref={input}
        id={`${name}-search`}
        class={`form-control ${size} ${error ? "is-invalid" : ""}`}
        role="combobox"
        aria-expanded={open}
        aria-controls={`${name}-options`}
        aria-autocomplete="list"
        aria-activedescendant={open && matches[active] ? `${name}-option-${matches[active].user_id}` : undefined}
        autocomplete="off"
        placeholder={placeholder}
        value={typed ?? chosen?.full_name ?? ""}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onInput={(e) => {
          setTyped(e.currentTarget.value);
          setActive(0);
          setOpen(true);
          if (e.currentTarget.value === "") onChange?.("");
        }}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") setActive((a) => Math.min(a + 1, matches.length - 1));
          else if (e.key === "ArrowUp") setActive((a) => Math.max(a - 1, 0));
          else if (e.key === "Enter" && open && matches[active]) {
            e.preventDefault();
            pick(matches[active].user_id);
          } else if (e.key === "Escape") setOpen(false);
        }}
      />
      <div class="invalid-feedback" data-error-for={name}>
        {error}
      </div>
      {open && matches.length > 0 && (
        <ul class="dropdown-menu show w-100" id={`${name}-options`} role="listbox">
          {matches.map((u, i) => (
            // Options are chosen with the arrows and Enter while focus stays in the box (Tab leaves it).
            <li
              key={u.user_id}
              id={`${name}-option-${u.user_id}`}
              role="option"
              aria-selected={i === active}
              class={`dropdown-item ${i === active ? "active" : ""}`}
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => pick(u.user_id)}
            >
              {u.full_name} <span class="small opacity-75">{u.email}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
