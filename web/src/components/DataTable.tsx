// The table every list page uses: columns, loading / empty / error states, and cursor paging
// (the API pages by cursor: the table keeps the cursors of the pages it has seen for "Previous").
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Empty, ErrorNote, Spinner } from "./Feedback";

export interface Column<T> {
  title: string;
  cell: (row: T) => ComponentChildren;
  class?: string;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export function DataTable<T>({
  id,
  columns,
  load,
  rowKey,
  rowAttrs,
  empty,
  reloadKey,
  caption,
  onPage,
}: {
  id: string;
  columns: Column<T>[];
  /** Loads the page at `cursor`; answers the page or an error message. */
  load: (cursor: string | null) => Promise<Page<T> | string>;
  rowKey: (row: T) => string;
  rowAttrs?: (row: T) => Record<string, string>;
  empty: ComponentChildren;
  /** Changes when the filters change: paging starts over. */
  reloadKey: string;
  caption: string;
  onPage?: (items: T[]) => void;
}) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState(0);
  const [state, setState] = useState<{ items?: T[]; error?: string; loading: boolean }>({ loading: true });

  useEffect(() => {
    setCursors([null]);
    setPage(0);
  }, [reloadKey]);

  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    void load(cursors[page] ?? null)
      .catch(() => "The server could not be reached. Check your connection and try again.")
      .then((r) => {
      if (!live) return;
      if (typeof r === "string") return setState({ error: r, loading: false });
      setCursors((c) => {
        const next = c.slice(0, page + 1);
        next[page + 1] = r.next_cursor ?? null;
        return next;
      });
      setState({ items: r.items, loading: false });
      onPage?.(r.items);
      });
    return () => {
      live = false;
    };
  }, [reloadKey, page]);

  const items = state.items ?? [];
  return (
    <>
      <div class="table-responsive">
        <table class="table table-hover align-middle mb-0" id={id} aria-busy={state.loading}>
          <caption class="visually-hidden">{caption}</caption>
          <thead>
            <tr>
              {columns.map((c) => (
                <th scope="col">{c.title}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {state.loading && !state.items ? (
              <tr>
                <td colSpan={columns.length}>
                  <Spinner />
                </td>
              </tr>
            ) : state.error ? (
              <tr>
                <td colSpan={columns.length}>
                  <ErrorNote>{state.error}</ErrorNote>
                </td>
              </tr>
            ) : items.length === 0 ? (
              <tr data-empty>
                <td colSpan={columns.length}>
                  <Empty>{empty}</Empty>
                </td>
              </tr>
            ) : (
              items.map((row) => (
                <tr key={rowKey(row)} {...(rowAttrs?.(row) ?? {})}>
                  {columns.map((c) => (
                    <td class={c.class}>{c.cell(row)}</td>
                  ))}
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <div class="card-footer bg-body d-flex justify-content-between align-items-center">
        <span class="small text-body-secondary" aria-live="polite">
          {state.loading ? "Loading…" : `Page ${page + 1} · ${items.length} shown`}
        </span>
        <div class="btn-group btn-group-sm">
          {/* aria-disabled while loading, so a keyboard user's focus stays on the button. */}
          <button
            class="btn btn-outline-secondary"
            id={`${id}-prev`}
            disabled={page === 0 && !state.loading}
            aria-disabled={page === 0 || state.loading}
            onClick={() => !state.loading && page > 0 && setPage(page - 1)}
          >
            ← Previous
          </button>
          <button
            class="btn btn-outline-secondary"
            id={`${id}-next`}
            disabled={!cursors[page + 1] && !state.loading}
            aria-disabled={!cursors[page + 1] || state.loading}
            onClick={() => !state.loading && cursors[page + 1] && setPage(page + 1)}
          >
            Next →
          </button>
        </div>
      </div>
    </>
  );
}
