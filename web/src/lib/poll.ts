// Live views that cost little: poll only while the page is visible, back off while nothing
// changes (5 s doubling to 1 min), and start again quickly when something does or the page comes
// back into view. The API answers an unchanged resource with 304 and no body (the browser's
// cache revalidates with the ETag), so an idle dashboard costs a handful of tiny requests an hour.
import { useEffect, useRef } from "preact/hooks";

export const POLL_MIN_MS = 5_000;
export const POLL_MAX_MS = 60_000;

/** Calls `load` now and then again as above; `load` answers a fingerprint of what it got. */
export function usePoll(load: () => Promise<string | null>) {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let timer = 0;
    let delay = POLL_MIN_MS;
    let last: string | null = null;
    let stopped = false;
    let inFlight = false;
    const tick = async () => {
      if (stopped || inFlight) return; // one loop at a time, however often the page is shown
      if (document.visibilityState !== "visible") return; // resumed by the visibility listener
      inFlight = true;
      let seen: string | null = null;
      try {
        seen = await latest.current();
      } catch {
        seen = null; // a failed request is tried again, at the shortest interval
      } finally {
        inFlight = false;
      }
      delay = seen !== null && seen === last ? Math.min(delay * 2, POLL_MAX_MS) : POLL_MIN_MS;
      last = seen;
      window.clearTimeout(timer);
      if (!stopped) timer = window.setTimeout(tick, delay);
    };
    const onVisible = () => {
      if (document.visibilityState === "visible") {
        window.clearTimeout(timer);
        delay = POLL_MIN_MS;
        void tick();
      }
    };
    document.addEventListener("visibilitychange", onVisible);
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);
}
