import { useRef } from "preact/hooks";
import { api, session, startSession } from "../api/client";
import { PASSWORD_RULES } from "../components/AuthCard";
import { Field, FormAlert, useForm, values } from "../components/Form";
import { PageHeader } from "../components/PageHeader";
import { toast } from "../components/Toast";
import { roleLabel } from "../lib/format";

/** Your account, and changing your password (every other session ends; this one goes on). */
export default function Account() {
  const s = session.value!;
  const form = useForm();
  const ref = useRef<HTMLFormElement>(null);
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    const r = await api.POST("/api/auth/password", {
      body: { current_password: data.current_password, new_password: data.new_password },
    });
    if (!r.data) return form.fail(r.error ?? {}, r.response);
    await startSession(r.data, s.email);
    ref.current?.reset();
    form.say(null);
    toast("Password changed. Your other sessions have ended.");
  };
  return (
    <>
      <PageHeader title="Your account" note={`${s.email} · ${roleLabel(s.role)}`} />
      <div class="row">
        <div class="col-lg-5">
          <form class="card card-body border-0 shadow-sm" id="password-form" noValidate onSubmit={submit} ref={ref}>
            <h2 class="h6 text-uppercase text-body-secondary">Change password</h2>
            <Field name="current_password" label="Current password" type="password" autocomplete="current-password" error={form.errors.current_password} required />
            <Field
              name="new_password"
              label="New password"
              type="password"
              autocomplete="new-password"
              error={form.errors.new_password}
              hint={`${PASSWORD_RULES} Your other sessions end; this one goes on.`}
              required
            />
            <FormAlert alert={form.alert} />
            <button class="btn btn-primary" type="submit" id="password-submit" disabled={form.busy}>
              Change password
            </button>
          </form>
        </div>
      </div>
    </>
  );
}
