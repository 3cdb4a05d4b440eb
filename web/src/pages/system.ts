import { api } from "../api/client";
import type { BackgroundTasks, SystemInfo } from "../api/types";
import { when } from "../format";
import { html } from "../html";

const REFRESH_MS = 5000;

// Administrators: what is deployed, background queues, relay lag, redrive of dead letters.
export function systemPage(root: HTMLElement) {
  root.innerHTML = html`
    <h1 class="h3 mb-1">Background tasks</h1>
    <div class="text-body-secondary small mb-3">Event relay and consumer queues · refreshes every 5 s</div>
    <div id="sys-alert" class="alert d-none"></div>
    <div class="row g-3">
      <div class="col-lg-8"><div class="card border-0 shadow-sm"><div class="table-responsive">
        <table class="table align-middle mb-0" id="queues-table">
          <thead class="table-light"><tr><th>Queue</th><th class="text-end">Waiting</th><th class="text-end">In flight</th><th class="text-end">Dead letters</th><th></th></tr></thead>
          <tbody id="queues"><tr><td colspan="5" class="text-center py-4"><span class="spinner-border spinner-border-sm"></span></td></tr></tbody>
        </table></div></div></div>
      <div class="col-lg-4">
        <div class="card border-0 shadow-sm mb-3"><div class="card-body" id="relay"></div></div>
        <div class="card border-0 shadow-sm"><div class="card-body small" id="info"></div></div>
      </div>
    </div>`.html;
  const alertBox = root.querySelector<HTMLDivElement>("#sys-alert")!;
  let timer = 0;

  async function load() {
    if (!document.body.contains(root)) return window.clearInterval(timer);
    const [tasks, info] = await Promise.all([api.GET("/api/system/background-tasks"), api.GET("/api/system/info")]);
    if (tasks.error || !tasks.data) {
      alertBox.className = "alert alert-warning";
      alertBox.textContent = tasks.error?.detail ?? "Could not load background tasks.";
      return;
    }
    renderTasks(tasks.data);
    if (info.data) renderInfo(info.data);
  }

  function renderTasks(t: BackgroundTasks) {
    root.querySelector("#queues")!.innerHTML = t.queues
      .map(
        (q) => html`<tr data-queue="${q.name}">
          <td class="fw-semibold">${q.name}</td>
          <td class="text-end">${q.visible}</td>
          <td class="text-end">${q.in_flight}</td>
          <td class="text-end">${q.dead_letters ? html`<span class="badge text-bg-danger">${q.dead_letters}</span>` : html`<span class="text-body-secondary">0</span>`}</td>
          <td class="text-end"><button class="btn btn-sm btn-outline-primary" data-redrive="${q.name}" ${q.dead_letters ? "" : "disabled"}>Redrive</button></td>
        </tr>`.html,
      )
      .join("");
    const r = t.relay;
    const lag = r.lag_ms ?? null;
    const tone = lag === null ? "secondary" : lag < 2000 ? "success" : lag < 60000 ? "warning" : "danger";
    root.querySelector("#relay")!.innerHTML = html`<h2 class="h6 text-uppercase text-body-secondary">Outbox relay</h2>
      <div class="d-flex align-items-baseline gap-2"><span class="display-6 fw-semibold">${lag === null ? "—" : `${(lag / 1000).toFixed(1)} s`}</span>
      <span class="badge text-bg-${tone}">${lag === null ? "idle" : "lag"}</span></div>
      <div class="small text-body-secondary">${r.last_published_at ? `Last published ${when(r.last_published_at)}, ${r.last_batch_size} event(s)` : "Nothing published yet"}</div>`.html;
  }

  function renderInfo(i: SystemInfo) {
    root.querySelector("#info")!.innerHTML = html`<h2 class="h6 text-uppercase text-body-secondary">Deployment</h2>
      <dl class="row mb-0">
        <dt class="col-5">Version</dt><dd class="col-7">${i.version}</dd>
        <dt class="col-5">Stage</dt><dd class="col-7">${i.stage}</dd>
        <dt class="col-5">Region</dt><dd class="col-7">${i.region}</dd>
        <dt class="col-5">Table</dt><dd class="col-7">${i.table}</dd>
        <dt class="col-5">Event bus</dt><dd class="col-7">${i.event_bus}</dd>
        <dt class="col-5">Functions</dt><dd class="col-7">${i.functions.join(", ")}</dd>
      </dl>`.html;
  }

  root.addEventListener("click", async (ev) => {
    const queue = (ev.target as HTMLElement).dataset.redrive;
    if (!queue) return;
    const { data, error } = await api.POST("/api/system/background-tasks/{queue}/redrive", { params: { path: { queue } } });
    alertBox.className = error ? "alert alert-danger" : "alert alert-success";
    alertBox.textContent = error ? error.detail : `Moved ${data!.moved} message(s) back to ${queue}.`;
    void load();
  });

  void load();
  timer = window.setInterval(load, REFRESH_MS);
}
