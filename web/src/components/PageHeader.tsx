import type { ComponentChildren } from "preact";

export function PageHeader({ title, note, children }: { title: string; note?: ComponentChildren; children?: ComponentChildren }) {
  return (
    <div class="d-flex align-items-center justify-content-between flex-wrap gap-2 mb-3">
      <div>
        <h1 class="h3 mb-0">{title}</h1>
        {note && <div class="text-body-secondary small">{note}</div>}
      </div>
      {children && <div class="d-flex gap-2">{children}</div>}
    </div>
  );
}
