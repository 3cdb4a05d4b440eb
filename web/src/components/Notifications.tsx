// The header's notifications: a bell with the number unread among the latest, and a list that
// opens under it. Reading one marks it read and goes to the overdue tasks. Polled while the page
// is visible, backing off while nothing changes.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { ago } from "../lib/format";
import { usePoll } from "../lib/poll";

type Notification = components["schemas"]["Notification"];

export function NotificationsMenu() {
  const [items, setItems] = useState<Notification[]>([]);
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const load = async () => {
    const { data } = await api.GET("/api/companies/{company_id}/notifications", { params: { path: { company_id: companyId() } } });
    if (!data) return null;
    setItems(data.items);
    setUnread(data.unread);
    return data.items.map((n) => `${n.id}:${n.read}`).join(",");
  };
  usePoll(load);
  useEffect(() => {
    if (!open) return;
    const away = (e: Event) => box.current && !box.current.contains(e.target as Node) && setOpen(false);
    const esc = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("click", away);
    document.addEventListener("keydown", esc);
    return () => {
      document.removeEventListener("click", away);
      document.removeEventListener("keydown", esc);
    };
  }, [open]);
  const read = async (n: Notification) => {
    if (!n.read) {
      await api.POST("/api/companies/{company_id}/notifications/{notification_id}/read", { params: { path: { company_id: companyId(), notification_id: n.id } } });
      void load();
    }
    setOpen(false);
  };
  const label = unread ? `Notifications, ${unread} unread` : "Notifications";
  return (
    <div class="position-relative" ref={box}>
      <button class="btn btn-sm btn-outline-light position-relative" id="notifications" aria-label={label} aria-expanded={open} aria-controls="notifications-list" onClick={() => setOpen(!open)}>
        <svg class="bell" viewBox="0 0 16 16" fill="currentColor" aria-hidden="true">
          <path d="M8 16a2 2 0 0 0 2-2H6a2 2 0 0 0 2 2Zm.99-14.1a1 1 0 1 0-1.98 0A5 5 0 0 0 3 6.8c0 1.1-.3 3.2-1.6 4.7-.3.4 0 1 .5 1h12.2c.5 0 .8-.6.5-1C13.3 10 13 7.9 13 6.8a5 5 0 0 0-4.01-4.9Z" />
        </svg>
        {unread > 0 && (
          <span class="position-absolute top-0 start-100 translate-middle badge rounded-pill text-bg-danger" id="notifications-unread" aria-hidden="true">
            {unread > 9 ? "9+" : unread}
          </span>
        )}
      </button>
      {open && (
        <div class="card shadow notifications-panel" id="notifications-list" data-bs-theme="light">
          <div class="card-header small fw-semibold">Notifications</div>
          {items.length === 0 ? (
            <p class="small text-body-secondary m-3">Nothing yet. Overdue tasks that are escalated show here.</p>
          ) : (
            <ul class="list-group list-group-flush">
              {items.map((n) => (
                <li class="list-group-item p-0">
                  <a class={`d-block p-2 text-decoration-none text-body ${n.read ? "" : "notification-unread"}`} href="/tasks?view=overdue" data-notification={n.id} onClick={() => void read(n)}>
                    <div class="small fw-semibold">{n.title}</div>
                    <div class="small text-body-secondary">{n.body}</div>
                    <div class="small text-body-secondary">{ago(n.created_at)}</div>
                  </a>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
