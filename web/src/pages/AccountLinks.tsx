// The pages mailed links open: confirming a sign-up, choosing a password after a reset or an
// invitation.
import { useState } from "preact/hooks";
import { api, startSession } from "../api/client";
import { AuthCard, useLinkToken, PASSWORD_RULES } from "../components/AuthCard";
import { Field, FormAlert, useForm, values } from "../components/Form";
import { navigate } from "../lib/nav";

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");

/** The sign-up link: with the password chosen at sign-up, confirms the email and opens the workspace. */
export function VerifyEmail() {
  const form = useForm();
  const [dead, setDead] = useState<{ already: boolean; why: string } | null>(null);
  const token = useLinkToken();
  if (dead)
    return (
      <AuthCard lead={dead.already ? "This workspace exists already." : "This link can't be used."}>
        <div class="alert alert-warning" id="verify-error" role="alert">
          {dead.already ? "You opened a workspace of this name with this email before: sign in to it." : sentence(dead.why)}
        </div>
        <div class="d-flex gap-2">
          <a class="btn btn-primary" href="/signin">
            Sign in
          </a>
          <a class="btn btn-outline-secondary" href="/register">
            Sign up again
          </a>
        </div>
      </AuthCard>
    );
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    const r = await api.POST("/api/auth/verify-email", { body: { token, password: data.password } });
    if (r.data) {
      await startSession(r.data);
      return navigate("/leads");
    }
    const p = r.error ?? {};
    if (p.errors?.some((x) => x.field === "password") || r.response.status === 429) return form.fail(p, r.response);
    setDead({ already: r.response.status === 409, why: p.errors?.[0]?.message ?? p.detail ?? "" });
  };
  return (
    <AuthCard lead="Confirm your email: enter the password you chose when signing up to open your workspace.">
      <form id="verify-form" noValidate onSubmit={submit}>
        <Field name="password" label="Password" type="password" autocomplete="current-password" error={form.errors.password} required />
        <FormAlert alert={form.alert} />
        <button class="btn btn-primary w-100" type="submit" id="verify-submit" disabled={form.busy}>
          Open my workspace
        </button>
      </form>
      <p class="small text-center mt-3 mb-0">Didn't sign up? Ignore the email: nothing is created without this step.</p>
    </AuthCard>
  );
}

/** A reset link (a new password; every other session ends) or an invitation (a first password). */
export function ChoosePassword({ invitation = false }: { invitation?: boolean }) {
  const form = useForm();
  const token = useLinkToken();
  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    const r = await api.POST("/api/auth/password-reset/confirm", { body: { token, new_password: data.new_password } });
    if (!r.data) {
      const p = r.error ?? {};
      const gone = p.errors?.find((x) => x.field === "token");
      return gone ? form.say(sentence(gone.message)) : form.fail(p, r.response);
    }
    await startSession(r.data);
    navigate("/leads");
  };
  return (
    <AuthCard
      lead={
        invitation
          ? "You're invited. Choose your password to sign in."
          : "Choose a new password. Signing in again will be needed on your other devices."
      }
    >
      <form id="reset-form" noValidate onSubmit={submit}>
        <Field
          name="new_password"
          label={invitation ? "Password" : "New password"}
          type="password"
          autocomplete="new-password"
          error={form.errors.new_password}
          hint={PASSWORD_RULES}
          required
        />
        <FormAlert alert={form.alert} />
        <button class="btn btn-primary w-100" type="submit" id="reset-submit" disabled={form.busy}>
          Set password and sign in
        </button>
      </form>
      <p class="small text-center mt-3 mb-0">
        Link expired? <a href="/forgot-password">Ask for a new one</a>
      </p>
    </AuthCard>
  );
}
