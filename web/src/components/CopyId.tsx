import { useState } from "preact/hooks";

/** A record's id, out of the way: a button that copies it (for support and the API). */
export function CopyId({ id, what }: { id: string; what: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="btn btn-sm btn-outline-secondary"
      title={`The ${what} id: ${id}`}
      onClick={() =>
        void navigator.clipboard?.writeText(id).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        })
      }
    >
      {copied ? "Copied" : "Copy id"}
    </button>
  );
}
