import "bootstrap/dist/css/bootstrap.min.css";
import "./style.css";
import { session, signOut } from "./api/client";
import { html } from "./html";
import { leadFormPage } from "./pages/leadForm";
import { auditPage } from "./pages/audit";
import { dashboardPage } from "./pages/dashboard";
import { leadsPage } from "./pages/leads";
import { systemPage } from "./pages/system";
import { usersPage } from "./pages/users";
import { signInPage } from "./pages/signin";
import { accountPage, resetPasswordPage, verifyEmailPage } from "./pages/account";

const app = document.querySelector<HTMLDivElement>("#app")!;

function shell(path: string): HTMLElement {
  const s = session()!;
  const link = (href: string, label: string) =>
    html`<li class="nav-item"><a class="nav-link ${path.startsWith(href) ? "active" : ""}" href="#${href}">${label}</a></li>`;
  app.innerHTML = html`
    <nav class="navbar navbar-expand bg-dark navbar-dark mb-4">
      <div class="container">
        <a class="navbar-brand fw-semibold" href="#/leads"><span class="brand-mark">◆</span> Keel</a>
        <ul class="navbar-nav me-auto">
          ${link("/dashboard", "Dashboard")}${link("/leads", "Leads")}${link("/users", "Users")}${s.role === "admin" ? [link("/audit", "Audit log"), link("/system", "Background work")] : ""}
        </ul>
        <a class="navbar-text small me-3 text-decoration-none" href="#/account" title="Your account (company ${s.companyId})" id="user-menu">${s.email} · ${s.role.replace("_", " ")}</a>
        <button class="btn btn-sm btn-outline-light" id="sign-out">Sign out</button>
      </div>
    </nav>
    <main class="container pb-5" id="page"></main>`.html;
  app.querySelector("#sign-out")!.addEventListener("click", () => void signOut());
  return app.querySelector<HTMLElement>("#page")!;
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/leads";
  const [path, query] = hash.split("?");
  const token = new URLSearchParams(query ?? "").get("token") ?? "";
  // Links from account mail carry their token in the fragment: it never reaches a server log.
  if (path === "/verify-email") return verifyEmailPage(app, token);
  if (path === "/reset-password") return resetPasswordPage(app, token);
  if (path === "/accept-invitation") return resetPasswordPage(app, token, true);
  if (path === "/forgot-password") return signInPage(app, "forgot");
  if (path === "/register") return signInPage(app, "register");
  if (!session() || path === "/signin") {
    if (path !== "/signin") location.hash = "#/signin";
    return signInPage(app);
  }
  const page = shell(path);
  if (path === "/dashboard") return dashboardPage(page);
  if (path === "/system") return systemPage(page);
  if (path === "/audit") return auditPage(page);
  if (path === "/users") return usersPage(page);
  if (path === "/account") return accountPage(page);
  if (path === "/leads/new") return void leadFormPage(page);
  const m = path.match(/^\/leads\/([0-9A-Za-z]+)$/);
  if (m) return void leadFormPage(page, m[1]);
  return leadsPage(page);
}

window.addEventListener("hashchange", route);
route();
