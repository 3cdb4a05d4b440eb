// People by name, never by id: the id stays in the tooltip.
import { useEffect, useMemo, useState } from "preact/hooks";
import { Combobox } from "./Combobox";
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
 * Chooses a colleague by typing part of their name or email. The form gets the chosen user's id
 * under `name`.
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
  const [typed, setTyped] = useState("");
  const options = useMemo(() => {
    const q = typed.toLowerCase();
    return (users.value ?? [])
      .filter((u) => u.active && (u.full_name.toLowerCase().includes(q) || u.email.toLowerCase().includes(q)))
      .slice(0, 8)
      .map((u) => ({ id: u.user_id, label: u.full_name, detail: u.email }));
  }, [typed, users.value]);
  return (
    <Combobox
      name={name}
      label={label}
      value={value}
      chosen={usersById.value.get(value)?.full_name ?? ""}
      options={options}
      onType={setTyped}
      onChange={(id) => {
        setTyped("");
        onChange?.(id);
      }}
      error={error}
      placeholder={placeholder}
      small={small}
    />
  );
}
