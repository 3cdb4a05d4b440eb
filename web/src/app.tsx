// Routes (real paths: the deployed hosting and the dev server serve index.html for any path without
// a file extension), each page its own chunk, and the guard that sends signed-out visitors to sign-in.
import type { ComponentType } from "preact";
import { useEffect } from "preact/hooks";
import { ErrorBoundary, lazy, LocationProvider, Route, Router, useLocation } from "preact-iso";
import { signal } from "@preact/signals";
import { session } from "./api/client";
import { Shell } from "./components/Shell";
import "./lib/theme";

const SignIn = lazy(() => import("./pages/SignIn"));
const VerifyEmail = lazy(() => import("./pages/AccountLinks").then((m) => m.VerifyEmail));
const ChoosePassword = lazy(() => import("./pages/AccountLinks").then((m) => m.ChoosePassword));
const Account = lazy(() => import("./pages/Account"));
const Unsubscribe = lazy(() => import("./pages/Unsubscribe"));
const Leads = lazy(() => import("./pages/Leads"));
const LeadRecord = lazy(() => import("./pages/LeadRecord"));
const LeadForm = lazy(() => import("./pages/LeadForm"));
const Accounts = lazy(() => import("./pages/Accounts"));
const AccountRecord = lazy(() => import("./pages/AccountRecord"));
const Contacts = lazy(() => import("./pages/Contacts"));
const Activities = lazy(() => import("./pages/Activities"));
const Tasks = lazy(() => import("./pages/Tasks"));
const Capture = lazy(() => import("./pages/Capture"));
const ContactRecord = lazy(() => import("./pages/ContactRecord"));
const Deals = lazy(() => import("./pages/Deals"));
const DealRecord = lazy(() => import("./pages/DealRecord"));
const Dashboard = lazy(() => import("./pages/Dashboard"));
const Users = lazy(() => import("./pages/Users"));
const Audit = lazy(() => import("./pages/Audit"));
const System = lazy(() => import("./pages/System"));
const Governance = lazy(() => import("./pages/Governance"));

/** Pages that need a session: without one, sign-in. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function Private({ page: Page, ...props }: { page: ComponentType<any> } & Record<string, unknown>) {
  const { route, url } = useLocation();
  const s = session.value;
  useEffect(() => {
    // Back here after signing in (only a path of this app, never another site). While the sign-in
    // page's code loads, this page is still shown at the sign-in address: not one to come back to.
    if (!s && !url.startsWith("/signin")) route(`/signin?next=${encodeURIComponent(url)}`, true);
  }, [s, url]);
  if (!s) return null;
  return (
    <Shell>
      <Page {...props} />
    </Shell>
  );
}

const TITLES: [RegExp, string][] = [
  [/^\/leads\/new/, "New lead"],
  [/^\/leads\/[^/]+\/edit/, "Edit lead"],
  [/^\/leads\/./, "Lead"],
  [/^\/leads/, "Leads"],
  [/^\/accounts\/./, "Account"],
  [/^\/accounts/, "Accounts"],
  [/^\/contacts\/./, "Contact"],
  [/^\/contacts/, "Contacts"],
  [/^\/activities/, "Activities"],
  [/^\/tasks/, "Tasks"],
  [/^\/capture/, "Capture"],
  [/^\/deals\/./, "Deal"],
  [/^\/deals/, "Deals"],
  [/^\/dashboard/, "Dashboard"],
  [/^\/users/, "Users"],
  [/^\/audit/, "Audit log"],
  [/^\/system/, "Background work"],
  [/^\/governance/, "Data governance"],
  [/^\/account/, "Your account"],
  [/^\/register/, "Create a workspace"],
  [/^\/forgot-password/, "Forgotten password"],
  [/^\/verify-email/, "Confirm your email"],
  [/^\/reset-password/, "Choose a new password"],
  [/^\/accept-invitation/, "Accept your invitation"],
  [/^\/unsubscribe/, "Message preferences"],
];

function titleFor(url: string) {
  const path = url.split("?")[0];
  document.title = `${TITLES.find(([re]) => re.test(path))?.[1] ?? "Sign in"} · Keel CRM`;
  // Focus moves to the new page's content, so keyboard and screen-reader users land on it.
  requestAnimationFrame(() => document.getElementById("main")?.focus({ preventScroll: true }));
}

const failed = signal(false);

/** A page's code could not be loaded (a new release, or the network): say so, offer a reload. */
function LoadFailed() {
  return (
    <div class="alert alert-warning m-3" role="alert">
      This page could not be loaded. Keel may have been updated, or the connection dropped.{" "}
      <button class="btn btn-sm btn-primary ms-2" onClick={() => location.reload()}>
        Reload
      </button>
    </div>
  );
}

export function App() {
  return (
    <LocationProvider>
      <ErrorBoundary onError={() => (failed.value = true)}>
        {failed.value && <LoadFailed />}
        <Router onRouteChange={titleFor} onLoadEnd={titleFor}>
          <Route path="/signin" component={SignIn} />
          <Route path="/register" component={() => <SignIn mode="register" />} />
          <Route path="/forgot-password" component={() => <SignIn mode="forgot" />} />
          <Route path="/verify-email" component={VerifyEmail} />
          <Route path="/reset-password" component={ChoosePassword} />
          <Route path="/accept-invitation" component={() => <ChoosePassword invitation />} />
          <Route path="/unsubscribe" component={Unsubscribe} />
          <Route path="/leads/new" component={() => <Private page={LeadForm} />} />
          <Route path="/leads/:id/edit" component={({ params }: { params: { id: string } }) => <Private page={LeadForm} id={params.id} />} />
          <Route path="/leads/:id" component={({ params }: { params: { id: string } }) => <Private page={LeadRecord} id={params.id} />} />
          <Route path="/leads" component={() => <Private page={Leads} />} />
          <Route path="/deals" component={() => <Private page={Deals} />} />
          <Route path="/deals/:id" component={({ params }: { params: { id: string } }) => <Private page={DealRecord} id={params.id} />} />
          <Route path="/accounts/:id" component={({ params }: { params: { id: string } }) => <Private page={AccountRecord} id={params.id} />} />
          <Route path="/accounts" component={() => <Private page={Accounts} />} />
          <Route path="/contacts/:id" component={({ params }: { params: { id: string } }) => <Private page={ContactRecord} id={params.id} />} />
          <Route path="/contacts" component={() => <Private page={Contacts} />} />
          <Route path="/activities" component={() => <Private page={Activities} />} />
          <Route path="/tasks" component={() => <Private page={Tasks} />} />
          <Route path="/capture" component={() => <Private page={Capture} />} />
          <Route path="/dashboard" component={() => <Private page={Dashboard} />} />
          <Route path="/users" component={() => <Private page={Users} />} />
          <Route path="/audit" component={() => <Private page={Audit} />} />
          <Route path="/system" component={() => <Private page={System} />} />
          <Route path="/governance" component={() => <Private page={Governance} />} />
          <Route path="/account" component={() => <Private page={Account} />} />
          <Route default component={() => <Private page={Leads} />} />
        </Router>
      </ErrorBoundary>
    </LocationProvider>
  );
}
