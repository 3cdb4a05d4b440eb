// One Idempotency-Key per submission attempt: a retry after a network error (no answer) reuses it,
// so the server applies the submission once; any answer ends the attempt.
import { useRef } from "preact/hooks";

export function useSubmissionKey() {
  const key = useRef<string | null>(null);
  return {
    /** The key for this attempt (made on first use). */
    current(): string {
      key.current ??= crypto.randomUUID();
      return key.current;
    },
    /** The server answered: the next submission is a new attempt. */
    answered() {
      key.current = null;
    },
  };
}
