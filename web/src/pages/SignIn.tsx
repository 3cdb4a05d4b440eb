import { useState } from "preact/hooks";
import { useLocation } from "preact-iso";
import { api, type CompanyChoice, startSession } from "../api/client";
import { AuthCard, PASSWORD_RULES } from "../components/AuthCard";
import { Field, FormAlert, useForm, values } from "../components/Form";
import { navigate } from "../lib/nav";

type Mode = "signin" | "register" | "forgot";

const LEADS: Record<Mode, string> = {
  signin: "Sign in to your workspace.",
  register: "Create your company's workspace.",
  forgot: "Forgot your password? We'll email you a link to choose a new one.",
};

// Sign in, create a company with its first administrator, or ask for a password reset link.
export default function SignIn({ mode = "signin" }: { mode?: Mode }) {
  const form = useForm();
  const { query } = useLocation();
  // Where the person was going; only a path inside the app ("//host" would be another site).
  const next = /^\/(?!\/)/.test(query.next ?? "") ? query.next! : "/leads";
  const [sent, setSent] = useState<{ email: string; why: "verify" | "reset" } | null>(null);
  const [choice, setChoice] = useState<{ choice: CompanyChoice; email: string; next: string } | null>(null);
  if (sent) return <CheckEmail {...sent} />;
  if (choice) return <ChooseCompany {...choice} />;

  const submit = async (e: Event) => {
    const data = values(e);
    form.start();
    if (mode === "register") {
      const r = await api.POST("/api/auth/register", {
        body: { company_name: data.company_name, full_name: data.full_name, email: data.email, password: data.password },
      });
      return r.data ? setSent({ email: r.data.email, why: "verify" }) : form.fail(r.error ?? {}, r.response);
    }
    if (mode === "forgot") {
      const r = await api.POST("/api/auth/password-reset", { body: { email: data.email } });
      return r.data ? setSent({ email: r.data.email, why: "reset" }) : form.fail(r.error ?? {}, r.response);
    }
    const r = await api.POST("/api/auth/login", { body: { email: data.email, password: data.password } });
    if (!r.data) return form.fail(r.error ?? {}, r.response);
    if ("choice_token" in r.data) return setChoice({ choice: r.data, email: data.email, next });
    await startSession(r.data, data.email);
    navigate(next);
  };

  return (
    <AuthCard lead={LEADS[mode]}>
      <form id="auth-form" noValidate onSubmit={submit}>
        {mode === "register" && (
          <>
            <Field name="company_name" label="Company" error={form.errors.company_name} required />
            <Field name="full_name" label="Your name" autocomplete="name" error={form.errors.full_name} required />
          </>
        )}
        <Field name="email" label="Work email" type="email" autocomplete="username" error={form.errors.email} required />
        {mode !== "forgot" && (
          <Field
            name="password"
            label="Password"
            type="password"
            autocomplete={mode === "register" ? "new-password" : "current-password"}
            error={form.errors.password}
            hint={mode === "register" ? PASSWORD_RULES : undefined}
            required
          />
        )}
        <FormAlert alert={form.alert} />
        <button class="btn btn-primary w-100" type="submit" id="auth-submit" disabled={form.busy}>
          {mode === "register" ? "Create workspace" : mode === "forgot" ? "Email me a link" : "Sign in"}
        </button>
      </form>
      <p class="small text-center mt-3 mb-0">
        {mode === "register" ? (
          <>
            Already have a workspace? <a href="/signin">Sign in</a>
          </>
        ) : mode === "forgot" ? (
          <>
            Remembered it? <a href="/signin">Sign in</a>
          </>
        ) : (
          <>
            New to Keel?{" "}
            <a href="/register" id="to-register">
              Create a workspace
            </a>
          </>
        )}
      </p>
      {mode === "signin" && (
        <p class="small text-center mt-1 mb-0">
          <a href="/forgot-password" id="to-forgot">
            Forgot your password?
          </a>
        </p>
      )}
    </AuthCard>
  );
}

/** After sign-up or a reset request: where to look next. */
function CheckEmail({ email, why }: { email: string; why: "verify" | "reset" }) {
  return (
    <AuthCard lead="Check your email">
      <div class="text-center py-2" id="check-email">
        <div class="display-6 mb-2" aria-hidden="true">
          ✉
        </div>
        {why === "verify" ? (
          <>
            <p>
              We sent a link to <strong>{email}</strong>. Open it to confirm your email: your workspace is created then.
            </p>
            <p class="small text-body-secondary">The link works for 24 hours. Nothing is created until it is used.</p>
          </>
        ) : (
          <>
            <p>
              If <strong>{email}</strong> has a Keel account, a link to choose a new password is on its way.
            </p>
            <p class="small text-body-secondary">The link works for an hour, once. Resetting signs you out everywhere.</p>
          </>
        )}
        <a class="btn btn-outline-secondary btn-sm" href="/signin">
          Back to sign in
        </a>
      </div>
    </AuthCard>
  );
}

/** The password was right in several companies: pick the one to enter. */
function ChooseCompany({ choice, email, next }: { choice: CompanyChoice; email: string; next: string }) {
  const form = useForm();
  const enter = async (company_id: string) => {
    form.start();
    const r = await api.POST("/api/auth/login/choose", { body: { choice_token: choice.choice_token, company_id } });
    if (!r.data) return form.fail(r.error ?? {}, r.response);
    await startSession(r.data, email);
    navigate(next);
  };
  return (
    <AuthCard lead="Your email is in several workspaces. Which one do you want to open?">
      <div class="list-group" id="company-choice">
        {choice.companies.map((c) => (
          <button
            type="button"
            class="list-group-item list-group-item-action d-flex justify-content-between align-items-center"
            data-company-id={c.company_id}
            disabled={form.busy}
            onClick={() => void enter(c.company_id)}
          >
            <span class="fw-semibold">{c.company_name}</span>
            <span aria-hidden="true">→</span>
          </button>
        ))}
      </div>
      <div class="mt-3">
        <FormAlert alert={form.alert} />
      </div>
      <p class="small text-center mt-3 mb-0">
        <a href="/signin" onClick={() => location.reload()}>
          Use another account
        </a>
      </p>
    </AuthCard>
  );
}
