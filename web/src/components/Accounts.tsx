// Accounts by name, never by id: a link to the account, and a picker that finds one as you type.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import { accountsById, loadAccounts } from "../lib/accounts";
import { Combobox, type Option } from "./Combobox";

/** The account's name, linked to its page (the id stays in the tooltip). */
export function AccountLink({ id }: { id: string }) {
  useEffect(() => void loadAccounts([id]), [id]);
  const account = accountsById.value.get(id);
  if (account === null) return <span class="text-body-secondary" title={id}>unknown account</span>;
  return (
    <a href={`/accounts/${id}`} title={id} data-account-id={id}>
      {account ? account.name : <span class="text-body-secondary">account…</span>}
    </a>
  );
}

/**
 * Chooses an account by typing the start of its name (the API matches name prefixes, legal forms
 * like "Ltd" aside). The form gets the chosen account's id under `name`.
 */
export function AccountPicker({
  name,
  label,
  value,
  onChange,
  error,
  placeholder = "Type an account's name",
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
  const [options, setOptions] = useState<Option[]>([]);
  const debounce = useRef(0);
  const asked = useRef("");
  useEffect(() => void loadAccounts([value]), [value]);
  const find = (typed: string) => {
    asked.current = typed;
    clearTimeout(debounce.current);
    debounce.current = window.setTimeout(async () => {
      const { data } = await api.GET("/api/companies/{company_id}/customers", {
        params: { path: { company_id: companyId() }, query: { name: typed.trim() || undefined, limit: 8 } },
      });
      // Only the answer to what is in the box now: a slower earlier answer is dropped.
      if (data && asked.current === typed) setOptions(data.items.map((a) => ({ id: a.id, label: a.name, detail: a.domain ?? a.lifecycle })));
    }, 250);
  };
  useEffect(() => find(""), []);
  return (
    <Combobox
      name={name}
      label={label}
      value={value}
      chosen={accountsById.value.get(value)?.name ?? ""}
      options={options}
      onType={find}
      onChange={onChange}
      error={error}
      placeholder={placeholder}
      small={small}
    />
  );
}
