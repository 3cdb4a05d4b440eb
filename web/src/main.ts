import "bootstrap/dist/css/bootstrap.min.css";
import "./style.css";
import { saveSession, session } from "./api/client";
import { html } from "./html";
import { leadFormPage } from "./pages/leadForm";
import { leadsPage } from "./pages/leads";
import { signInPage } from "./pages/signin";

const app = document.querySelector<HTMLDivElement>("#app")!;

function shell(): HTMLElement {
  const s = session()!;
  app.innerHTML = html`
    <nav class="navbar navbar-expand bg-dark navbar-dark mb-4">
      <div class="container">
        <a class="navbar-brand fw-semibold" href="#/leads"><span class="brand-mark">◆</span> Keel</a>
        <ul class="navbar-nav me-auto"><li class="nav-item"><a class="nav-link active" href="#/leads">Leads</a></li></ul>
        <span class="navbar-text small me-3" title="Company ${s.companyId}">${s.userId} · ${s.role.replace("_", " ")}</span>
        <button class="btn btn-sm btn-outline-light" id="sign-out">Sign out</button>
      </div>
    </nav>
    <main class="container pb-5" id="page"></main>`.html;
  app.querySelector("#sign-out")!.addEventListener("click", () => {
    saveSession(null);
    location.hash = "#/signin";
  });
  return app.querySelector<HTMLElement>("#page")!;
}

function route() {
  const hash = location.hash.replace(/^#/, "") || "/leads";
  const path = hash.split("?")[0];
  if (!session() || path === "/signin") {
    if (path !== "/signin") location.hash = "#/signin";
    return signInPage(app);
  }
  const page = shell();
  if (path === "/leads/new") return void leadFormPage(page);
  const m = path.match(/^\/leads\/([0-9A-Za-z]+)$/);
  if (m) return void leadFormPage(page, m[1]);
  return leadsPage(page);
}

window.addEventListener("hashchange", route);
route();
