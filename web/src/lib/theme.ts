// Light and dark follow the system setting unless the person picks one (Bootstrap colour modes).
import { effect, signal } from "@preact/signals";

export type Theme = "system" | "light" | "dark";
const KEY = "keel.theme";
const system = matchMedia("(prefers-color-scheme: dark)");

export const theme = signal<Theme>((localStorage.getItem(KEY) as Theme | null) ?? "system");
const systemDark = signal(system.matches);
system.addEventListener("change", (e) => (systemDark.value = e.matches));

effect(() => {
  const mode = theme.value === "system" ? (systemDark.value ? "dark" : "light") : theme.value;
  document.documentElement.setAttribute("data-bs-theme", mode);
  if (theme.value === "system") localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, theme.value);
});
