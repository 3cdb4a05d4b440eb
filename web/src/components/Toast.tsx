// Short confirmations in the corner, announced to screen readers; they go away on their own.
import { signal } from "@preact/signals";

interface Toast {
  id: number;
  text: string;
  tone: "success" | "danger" | "info";
}

const toasts = signal<Toast[]>([]);
let next = 1;

export function toast(text: string, tone: Toast["tone"] = "success") {
  const id = next++;
  toasts.value = [...toasts.value, { id, text, tone }];
  setTimeout(() => (toasts.value = toasts.value.filter((t) => t.id !== id)), 5000);
}

export function Toasts() {
  return (
    <div class="toast-container position-fixed bottom-0 end-0 p-3" aria-live="polite">
      {toasts.value.map((t) => (
        <div key={t.id} class={`toast show align-items-center text-bg-${t.tone} border-0`} role="status">
          <div class="d-flex">
            <div class="toast-body">{t.text}</div>
            <button
              type="button"
              class="btn-close btn-close-white me-2 m-auto"
              aria-label="Close"
              onClick={() => (toasts.value = toasts.value.filter((x) => x.id !== t.id))}
            />
          </div>
        </div>
      ))}
    </div>
  );
}
