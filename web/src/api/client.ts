// The typed API client: paths and bodies come from the OpenAPI document the server generates
// (src/api/schema.d.ts is produced from it by `make openapi`). The session lives in a signal, so
// every component that reads it re-renders when it changes (sign-in, refresh, sign-out).
import { signal } from "@preact/signals";
import { jwtDecode } from "jwt-decode";
import createClient, { type Middleware } from "openapi-fetch";
import { navigate } from "../lib/nav";
import type { components, paths } from "./schema";

export type Lead = components["schemas"]["Lead"];
export type NewLead = components["schemas"]["NewLead"];
export type LeadPatch = components["schemas"]["LeadPatch"];
export type Problem = components["schemas"]["Problem"];
export type Tokens = components["schemas"]["Session"];
export type CompanyChoice = components["schemas"]["CompanyChoice"];
export type UserView = components["schemas"]["UserView"];

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

const SESSION_KEY = "keel.session";

function stored(): Session | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  return raw ? (JSON.parse(raw) as Session) : null;
}

/** The signed-in session, or null. */
export const session = signal<Session | null>(stored());

export function saveSession(s: Session | null) {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
  session.value = s;
}

/** A session from the identity API's answer (the role comes from the token's claims). */
function sessionFrom(t: Tokens, email: string): Session {
  const claims = jwtDecode<{ role: string }>(t.access_token);
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

/** Starts the session `t` and learns whose it is (a verification or reset link opens without an email). */
export async function startSession(t: Tokens, email?: string) {
  saveSession(sessionFrom(t, email ?? session.value?.email ?? ""));
  if (!email) {
    const me = await api.GET("/api/auth/me");
    if (me.data && session.value) saveSession({ ...session.value, email: me.data.email });
  }
}

let refreshing: Promise<void> | null = null;

// Access tokens live 15 minutes: trade the refresh token for a new pair shortly before expiry.
// Concurrent requests share one refresh (the server also forgives two tabs refreshing at once).
async function fresh(): Promise<Session | null> {
  const s = session.value;
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
  return session.value;
}

export async function signOut() {
  const s = session.value;
  saveSession(null);
  if (s) {
    await fetch("/api/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ company_id: s.companyId, refresh_token: s.refreshToken }),
    });
  }
  navigate("/signin");
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
    if (response.status === 401 && session.value && !WITHOUT_TOKEN.has(new URL(response.url).pathname)) {
      saveSession(null);
      navigate("/signin");
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use(auth);

export function companyId(): string {
  return session.value?.companyId ?? "";
}
