// Loading, empty and error states, the same on every page.
import type { ComponentChildren } from "preact";

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <div class="text-center py-5 text-body-secondary" role="status">
      <span class="spinner-border spinner-border-sm me-2" aria-hidden="true" />
      {label}…
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="text-center py-5 text-body-secondary">{children}</div>;
}

export function ErrorNote({ children }: { children: ComponentChildren }) {
  return (
    <div class="alert alert-danger mb-0" role="alert">
      {children}
    </div>
  );
}
