// The typed API client: paths and bodies come from the OpenAPI document the server generates
// (src/api/schema.d.ts is produced from it by `make openapi`).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Lead = components["schemas"]["Lead"];
export type NewLead = components["schemas"]["NewLead"];
export type LeadPatch = components["schemas"]["LeadPatch"];
export type LeadPage = components["schemas"]["LeadPage"];
export type Problem = components["schemas"]["Problem"];

export interface Session {
  token: string;
  companyId: string;
  userId: string;
  role: string;
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

const auth: Middleware = {
  onRequest({ request }) {
    const s = session();
    if (s) request.headers.set("Authorization", `Bearer ${s.token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or revoked token: back to sign-in rather than a page of errors.
    if (response.status === 401 && session()) {
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
