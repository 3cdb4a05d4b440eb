// The typed API client: paths and bodies come from the OpenAPI document the server generates
// (src/api/schema.d.ts is produced from it by `make openapi`).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Lead = components["schemas"]["Lead"];
export type NewLead = components["schemas"]["NewLead"];
export type LeadPatch = components["schemas"]["LeadPatch"];
export type LeadPage = components["schemas"]["Page_Lead"];
export type Problem = components["schemas"]["Problem"];

export interface Session {
  token: string;
  refreshToken: string;
  /** When the access token expires (ms since epoch). */
  expiresAt: number;
  companyId: string;
  userId: string;
  role: string;
  email: string;
}

export type Tokens = components["schemas"]["Session"];
export type CompanyChoice = components["schemas"]["CompanyChoice"];

/** A session from the identity API's answer (the role comes from the token). */
export function sessionFrom(t: Tokens, email: string): Session {
  const claims = JSON.parse(atob(t.access_token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  return {
    token: t.access_token,
    refreshToken: t.refresh_token,
    expiresAt: Date.now() + t.expires_in * 1000,
    companyId: t.company_id,
    userId: t.user_id,
    role: claims.role,
    email,
  };
}

const SESSION_KEY = "keel.session";

export function session(): Session | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

export function saveSession(s: Session | null) {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}

let refreshing: Promise<void> | null = null;

// Access tokens live 15 minutes: trade the refresh token for a new pair shortly before expiry.
async function fresh(): Promise<Session | null> {
  const s = session();
  if (!s || s.expiresAt - Date.now() > 60_000) return s;
  refreshing ??= (async () => {
    const r = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ company_id: s.companyId, refresh_token: s.refreshToken }),
    });
    saveSession(r.ok ? sessionFrom(await r.json(), s.email) : null);
  })().finally(() => (refreshing = null));
  await refreshing;
  return session();
}

/** Starts the session `t` and learns whose it is (a verification or reset link opens without an email). */
export async function startSession(t: Tokens, email?: string) {
  saveSession(sessionFrom(t, email ?? ""));
  if (!email) {
    const me = await api.GET("/api/auth/me");
    const s = session();
    if (me.data && s) saveSession({ ...s, email: me.data.email });
  }
}

export async function signOut() {
  const s = session();
  saveSession(null);
  if (s) {
    await fetch("/api/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ company_id: s.companyId, refresh_token: s.refreshToken }),
    });
  }
  location.hash = "#/signin";
}

/** Routes that take no bearer token: the session is being made, traded or ended. */
const WITHOUT_TOKEN = new Set([
  "/api/auth/register",
  "/api/auth/verify-email",
  "/api/auth/login",
  "/api/auth/login/choose",
  "/api/auth/refresh",
  "/api/auth/logout",
  "/api/auth/password-reset",
  "/api/auth/password-reset/confirm",
]);

const auth: Middleware = {
  async onRequest({ request }) {
    if (WITHOUT_TOKEN.has(new URL(request.url).pathname)) return request;
    const s = await fresh();
    if (s) request.headers.set("Authorization", `Bearer ${s.token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or revoked token: back to sign-in rather than a page of errors.
    if (response.status === 401 && session() && !WITHOUT_TOKEN.has(new URL(response.url).pathname)) {
      saveSession(null);
      location.hash = "#/signin";
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use(auth);

export function companyId(): string {
  return session()?.companyId ?? "";
}
