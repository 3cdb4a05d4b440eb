// Filters kept in the URL's query, so a view can be bookmarked and back / forward work.
import { useLocation } from "preact-iso";

export function useQueryState<K extends string>(keys: readonly K[]): [Record<K, string>, (next: Partial<Record<K, string>>) => void] {
  const { query, path, route } = useLocation();
  const values = Object.fromEntries(keys.map((k) => [k, query[k] ?? ""])) as Record<K, string>;
  const set = (next: Partial<Record<K, string>>) => {
    const merged = { ...query, ...next } as Record<string, string>;
    const params = new URLSearchParams(Object.entries(merged).filter(([, v]) => v !== "" && v !== undefined));
    const qs = params.toString();
    route(qs ? `${path}?${qs}` : path);
  };
  return [values, set];
}
