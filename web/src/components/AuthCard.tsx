import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { ThemeToggle } from "./Shell";

/** The signed-out pages' card: brand, a line saying what this is, and the page's own content. */
export function AuthCard({ lead, children }: { lead: ComponentChildren; children: ComponentChildren }) {
  return (
    <main class="container signin" id="main">
      <div class="card shadow-sm border-0">
        <div class="card-body p-4">
          <div class="d-flex justify-content-between align-items-start">
            <h1 class="h4 mb-1">
              <span class="brand-mark" aria-hidden="true">
                ◆
              </span>{" "}
              Keel CRM
            </h1>
            <ThemeToggle />
          </div>
          <p class="text-body-secondary mb-4">{lead}</p>
          {children}
        </div>
      </div>
    </main>
  );
}

export const PASSWORD_RULES = "At least 10 characters, mixing three of: lower case, upper case, digits, symbols.";

/**
 * The one-time token of a mailed link: it travels in the fragment, which no server ever sees, and
 * is taken out of the address bar (and the history) as soon as it is read.
 */
export function useLinkToken(): string {
  const [token] = useState(() => {
    const found = new URLSearchParams(location.hash.replace(/^#/, "")).get("token") ?? "";
    if (found) history.replaceState(null, "", location.pathname);
    return found;
  });
  return token;
}
