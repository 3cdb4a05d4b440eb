// The signed-in frame: navigation landmarks, the user menu, the theme toggle, a skip link.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { session, signOut } from "../api/client";
import { roleLabel } from "../lib/format";
import { theme, type Theme } from "../lib/theme";
import { NotificationsMenu } from "./Notifications";
import { Toasts } from "./Toast";

const THEMES: { value: Theme; label: string }[] = [
  { value: "system", label: "Auto" },
  { value: "light", label: "Light" },
  { value: "dark", label: "Dark" },
];

export function ThemeToggle() {
  return (
    <select
      class="form-select form-select-sm w-auto"
      aria-label="Colour theme"
      id="theme"
      value={theme.value}
      onChange={(e) => (theme.value = e.currentTarget.value as Theme)}
    >
      {THEMES.map((t) => (
        <option value={t.value}>{t.label}</option>
      ))}
    </select>
  );
}

export function Shell({ children }: { children: ComponentChildren }) {
  const { path } = useLocation();
  const [open, setOpen] = useState(false);
  const s = session.value!;
  const admin = s.role === "admin";
  const link = (href: string, label: string, title?: string) => (
    <li class="nav-item">
      <a class={`nav-link ${path.startsWith(href) ? "active" : ""}`} aria-current={path.startsWith(href) ? "page" : undefined} href={href} title={title}>
        {label}
      </a>
    </li>
  );
  return (
    <>
      <a class="visually-hidden-focusable position-absolute top-0 start-0 p-2 bg-body z-3" href="#main">
        Skip to content
      </a>
      <header>
        <nav class="navbar navbar-expand-lg bg-dark navbar-dark mb-4" data-bs-theme="dark" aria-label="Main">
          <div class="container-fluid container-wide">
            <a class="navbar-brand fw-semibold" href="/leads">
              <span class="brand-mark" aria-hidden="true">
                ◆
              </span>{" "}
              Keel
            </a>
            <button
              class="navbar-toggler"
              type="button"
              aria-controls="nav-links"
              aria-expanded={open}
              aria-label="Menu"
              onClick={() => setOpen(!open)}
            >
              <span class="navbar-toggler-icon" />
            </button>
            <div class={`collapse navbar-collapse ${open ? "show" : ""}`} id="nav-links" onClick={(e) => (e.target as HTMLElement).closest("a") && setOpen(false)}>
            <ul class="navbar-nav me-auto">
              {link("/dashboard", "Dashboard")}
              {link("/leads", "Leads")}
              {link("/accounts", "Accounts")}
              {link("/deals", "Deals")}
              {link("/contacts", "Contacts")}
              {link("/activities", "Activities")}
              {link("/tasks", "Tasks")}
              {link("/users", "Users")}
              {admin && link("/governance", "Governance")}
              {admin && link("/audit", "Audit log")}
              {admin && link("/system", "Jobs", "Background work")}
            </ul>
            <div class="d-flex flex-wrap flex-lg-nowrap align-items-center gap-2 py-2 py-lg-0">
              <NotificationsMenu />
              <ThemeToggle />
              <a class="navbar-text small text-decoration-none text-truncate user-menu" href="/account" title={`Your account (company ${s.companyId})`} id="user-menu">
                {s.email} · {roleLabel(s.role)}
              </a>
              <button class="btn btn-sm btn-outline-light text-nowrap" id="sign-out" onClick={() => void signOut()}>
                Sign out
              </button>
            </div>
            </div>
          </div>
        </nav>
      </header>
      <main class="container-fluid container-wide pb-5" id="main" tabIndex={-1}>
        {children}
      </main>
      <Toasts />
    </>
  );
}
