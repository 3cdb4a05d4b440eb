// Where an unsubscribe link leads (no sign-in): says which messages it stops, and stops them with
// one click. Opening the page changes nothing — mail scanners open links too; the button does.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import { AuthCard, useLinkToken } from "../components/AuthCard";
import { Spinner } from "../components/Feedback";

const WHAT: Record<string, string> = {
  email: "emails",
  whatsapp: "WhatsApp messages",
  phone: "phone calls",
  sms: "text messages",
};

type State =
  | { step: "loading" }
  | { step: "ask"; channel: string }
  | { step: "done"; channel: string }
  | { step: "dead"; why: string };

export default function Unsubscribe() {
  const token = useLinkToken();
  const [state, setState] = useState<State>({ step: "loading" });
  const [busy, setBusy] = useState(false);
  const failed = (status: number, detail?: string) =>
    setState({
      step: "dead",
      why:
        status === 422
          ? detail ?? "This link has expired."
          : status === 429
            ? "Too many tries from this connection: wait a few minutes and open the link again."
            : "This link can't be used. Open the one in the message you received, as it is.",
    });
  useEffect(() => {
    if (!token) return failed(404);
    void api.GET("/api/unsubscribe/{token}", { params: { path: { token } } }).then((r) => {
      if (!r.data) return failed(r.response.status, r.error?.errors?.[0]?.message);
      setState(r.data.withdrawn ? { step: "done", channel: r.data.channel } : { step: "ask", channel: r.data.channel });
    });
  }, [token]);
  const stop = async () => {
    setBusy(true);
    const r = await api.POST("/api/unsubscribe/{token}", { params: { path: { token } } });
    setBusy(false);
    if (!r.data) return failed(r.response.status, r.error?.errors?.[0]?.message);
    setState({ step: "done", channel: r.data.channel });
  };
  if (state.step === "loading")
    return (
      <AuthCard lead="Message preferences">
        <Spinner />
      </AuthCard>
    );
  if (state.step === "dead")
    return (
      <AuthCard lead="Message preferences">
        <div class="alert alert-warning mb-0" role="alert" id="unsubscribe-error">
          {state.why}
        </div>
      </AuthCard>
    );
  const what = WHAT[state.channel] ?? "messages";
  if (state.step === "done")
    return (
      <AuthCard lead="Message preferences">
        <div class="alert alert-success mb-0" role="status" id="unsubscribed">
          You're unsubscribed: no more {what} will be sent to you from this sender. If you change your mind, tell them.
        </div>
      </AuthCard>
    );
  return (
    <AuthCard lead="Message preferences">
      <p id="unsubscribe-question">Stop receiving {what} from this sender?</p>
      <button class="btn btn-primary w-100" id="unsubscribe" disabled={busy} onClick={() => void stop()}>
        {busy ? "Unsubscribing…" : `Unsubscribe from ${what}`}
      </button>
    </AuthCard>
  );
}
