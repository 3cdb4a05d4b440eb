// A dialog: focus moves into it, Esc and the backdrop close it, and focus returns where it was.
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

export function Modal({
  title,
  onClose,
  children,
  footer,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  footer?: ComponentChildren;
  /** For forms with several parts: wider, and the body scrolls under a fixed header and footer. */
  wide?: boolean;
}) {
  const dialog = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    // The first field, or the close button while the dialog's content is still loading.
    const first =
      dialog.current?.querySelector<HTMLElement>("[data-autofocus]") ??
      dialog.current?.querySelector<HTMLElement>("input:not([type=hidden]), select, textarea") ??
      dialog.current?.querySelector<HTMLElement>(".btn-close");
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") return onClose();
      if (e.key !== "Tab" || !dialog.current) return;
      // Focus stays in the dialog: Tab from the last control goes to the first, and back.
      const controls = [...dialog.current.querySelectorAll<HTMLElement>("button, input:not([type=hidden]), select, textarea, a[href]")].filter((c) => !c.hasAttribute("disabled"));
      const [first, last] = [controls[0], controls[controls.length - 1]];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last?.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first?.focus();
      }
    };
    addEventListener("keydown", onKey);
    return () => {
      removeEventListener("keydown", onKey);
      // Back where it was, or to the page when that control is gone (an archived record's button).
      if (before?.isConnected) before.focus();
      else document.getElementById("main")?.focus();
    };
  }, []);
  return (
    <>
      <div class="modal d-block" role="dialog" aria-modal="true" aria-labelledby="modal-title" onClick={(e) => e.target === e.currentTarget && onClose()}>
        <div class={`modal-dialog modal-dialog-centered ${wide ? "modal-lg modal-dialog-scrollable" : ""}`} ref={dialog}>
          <div class="modal-content">
            <div class="modal-header">
              <h2 class="modal-title h5" id="modal-title">
                {title}
              </h2>
              <button type="button" class="btn-close" aria-label="Close" onClick={onClose} />
            </div>
            <div class="modal-body">{children}</div>
            {footer && <div class="modal-footer">{footer}</div>}
          </div>
        </div>
      </div>
      <div class="modal-backdrop show" />
    </>
  );
}

/** Asks before something consequential; Enter confirms, Esc cancels. */
export function Confirm({
  title,
  text,
  action,
  onConfirm,
  onClose,
  tone = "danger",
}: {
  title: string;
  text: string;
  action: string;
  onConfirm: () => void;
  onClose: () => void;
  tone?: "danger" | "primary";
}) {
  return (
    <Modal
      title={title}
      onClose={onClose}
      footer={
        <>
          <button type="button" class="btn btn-outline-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="button" class={`btn btn-${tone}`} id="confirm" data-autofocus onClick={onConfirm}>
            {action}
          </button>
        </>
      }
    >
      <p class="mb-0">{text}</p>
    </Modal>
  );
}
