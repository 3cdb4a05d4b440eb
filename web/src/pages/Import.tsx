// Bulk import of leads (managers and administrators): choose a CSV or Excel file, which goes
// straight to storage through its upload address (with a bar while it uploads), check the mapping
// the headers suggested, try the first 1,000 rows, then watch the job: a bar by how much of the
// file is read, and what became of the rows, with the report of the rows not imported to download.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { JobStateBadge } from "../components/Badges";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Field, FormAlert, useForm } from "../components/Form";
import { toast } from "../components/Toast";
import { ago, count, sentenceCase, when } from "../lib/format";

type Import = components["schemas"]["Import"];
type ImportView = components["schemas"]["ImportView"];
type DryRun = components["schemas"]["DryRun"];
type LeadColumn = components["schemas"]["LeadColumn"];

const COLUMNS: LeadColumn[] = ["first_name", "last_name", "email", "phone", "company_name", "job_title", "website", "notes", "source", "campaign", "medium"];
const OUTCOMES = [
  ["created", "Created", "bg-success"],
  ["updated", "Filled in", "bg-info"],
  ["skipped", "Already there", "bg-secondary"],
  ["failed", "Not imported", "bg-danger"],
] as const;

const mb = (bytes: number) => (bytes >= 1_000_000 ? `${(bytes / 1_000_000).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1000))} KB`);

/** PUTs the file to its upload address, reporting progress (fetch cannot report an upload's). */
function upload(url: string, headers: Record<string, string>, file: File, onProgress: (pct: number) => void): Promise<number> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(Math.round((100 * e.loaded) / e.total));
    xhr.onload = () => resolve(xhr.status);
    xhr.onerror = () => resolve(0);
    xhr.send(file);
  });
}

function Bar({ pct, label, running }: { pct: number; label: string; running: boolean }) {
  const fill = useRef<HTMLDivElement>(null);
  // Widths go through the CSSOM: the page's CSP allows no inline style attribute.
  useEffect(() => void fill.current?.style.setProperty("width", `${pct}%`), [pct]);
  return (
    <div class="progress import-progress" role="progressbar" aria-label={label} aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
      <div ref={fill} class={`progress-bar ${running ? "progress-bar-striped progress-bar-animated" : ""}`}>
        {pct}%
      </div>
    </div>
  );
}

/** Where the rows went, as one stacked bar and its legend. */
function Outcomes({ progress }: { progress: Record<string, number> }) {
  const total = OUTCOMES.reduce((a, [k]) => a + (progress[k] ?? 0), 0);
  const parts = useRef<(HTMLDivElement | null)[]>([]);
  useEffect(() => {
    OUTCOMES.forEach(([k], i) => parts.current[i]?.style.setProperty("width", `${total ? (100 * (progress[k] ?? 0)) / total : 0}%`));
  });
  return (
    <div>
      <div class="progress-stacked import-outcomes" aria-hidden="true">
        {OUTCOMES.map(([k, , tone], i) => (
          <div class="progress" key={k} ref={(el) => { parts.current[i] = el; }}>
            <div class={`progress-bar ${tone}`} />
          </div>
        ))}
      </div>
      <dl class="row row-cols-2 row-cols-md-5 g-2 mt-2 mb-0 import-counts">
        <div class="col">
          <dt class="small text-body-secondary">Rows read</dt>
          <dd class="h5 mb-0" data-count="read">{count(progress.read ?? 0)}</dd>
        </div>
        {OUTCOMES.map(([k, label, tone]) => (
          <div class="col" key={k}>
            <dt class="small text-body-secondary">
              <span class={`legend-dot ${tone}`} /> {label}
            </dt>
            <dd class="h5 mb-0" data-count={k}>{count(progress[k] ?? 0)}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

async function downloadReport(id: string, name: string) {
  // A page of 20,000 lines an answer; the pages make one file.
  const parts: Blob[] = [];
  let after: number | undefined;
  do {
    const { data, response } = await api.GET("/api/companies/{company_id}/data/import/{import_id}/report", {
      params: { path: { company_id: companyId(), import_id: id }, query: after === undefined ? {} : { after } },
      parseAs: "blob",
    });
    if (!response.ok || !data) return toast("Could not download the report.", "danger");
    parts.push(data as unknown as Blob);
    const next = response.headers.get("keel-report-after");
    after = next ? Number(next) : undefined;
  } while (after !== undefined);
  const data = new Blob(parts, { type: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(data);
  link.download = `${name.replace(/\.[^.]+$/, "")}-report.csv`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** A started import: its job's progress, polled every second while it runs. */
function Progress({ id, onDone }: { id: string; onDone?: () => void }) {
  const [view, setView] = useState<ImportView | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let stopped = false;
    let timer = 0;
    const tick = async () => {
      const { data } = await api.GET("/api/companies/{company_id}/data/import/{import_id}", { params: { path: { company_id: companyId(), import_id: id } } });
      if (stopped) return;
      if (!data) return setFailed(true);
      setView(data);
      const state = data.job?.state;
      if (state === "succeeded" || state === "failed") return onDone?.();
      timer = window.setTimeout(tick, 1000);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [id]);
  if (failed) return <ErrorNote>The import's progress could not be read.</ErrorNote>;
  if (!view?.job) return <Spinner label="Starting the import" />;
  const { job, import: imp } = view;
  const running = job.state === "queued" || job.state === "running";
  const pct = job.state === "succeeded" ? 100 : imp.format === "csv" && imp.size ? Math.min(99, Math.floor((100 * view.bytes_read) / imp.size)) : 0;
  const problems = (job.progress.failed ?? 0) + (job.progress.skipped ?? 0);
  return (
    <section class="card border-0 shadow-sm mb-3" id="import-progress" data-state={job.state} aria-live="polite">
      <div class="card-body">
        <div class="d-flex justify-content-between align-items-baseline mb-2">
          <h2 class="h5 mb-0">{imp.file_name}</h2>
          <JobStateBadge state={job.state} />
        </div>
        <Bar pct={pct} running={running} label={`Import of ${imp.file_name}`} />
        <p class="small text-body-secondary mt-1 mb-3">
          {running ? (imp.format === "csv" ? `${mb(view.bytes_read)} of ${mb(imp.size)} read` : "Reading the sheet…") : job.state === "succeeded" ? `Done ${ago(job.updated_at)}` : job.error}
        </p>
        <Outcomes progress={job.progress} />
        {!running && problems > 0 && (
          <button class="btn btn-outline-primary mt-3" id="download-report" onClick={() => void downloadReport(id, imp.file_name)}>
            Download the report of {count(problems)} rows not created (CSV)
          </button>
        )}
      </div>
    </section>
  );
}

/** The mapping step: a lead field per column, the import's attribution, a dry run, then start. */
function Mapping({ preview, sample, onStarted }: { preview: Import; sample: string[][]; onStarted: (id: string) => void }) {
  const state = useForm();
  const [mapping, setMapping] = useState<(LeadColumn | null)[]>(preview.suggested);
  const [dry, setDry] = useState<DryRun | null>(null);
  const attribution = () => {
    const f = new FormData(document.getElementById("import-settings") as HTMLFormElement);
    const v = (k: string) => String(f.get(k) ?? "").trim() || null;
    return { source: v("source"), campaign: v("campaign"), medium: v("medium") };
  };
  const params = { path: { company_id: companyId(), import_id: preview.id } };
  const tryRows = async () => {
    state.start();
    const { data, error, response } = await api.POST("/api/companies/{company_id}/data/import/{import_id}/dry-run", { params, body: { mapping, attribution: attribution() } });
    if (!data) return state.fail(error ?? {}, response);
    state.done();
    setDry(data);
  };
  const start = async (e: Event) => {
    e.preventDefault();
    state.start();
    const { data, error, response } = await api.POST("/api/companies/{company_id}/data/import/{import_id}/start", { params, body: { mapping, attribution: attribution(), version: preview.version } });
    if (!data) return state.fail(error ?? {}, response);
    state.done();
    onStarted(preview.id);
  };
  const has = (c: LeadColumn) => mapping.includes(c);
  return (
    <form class="card border-0 shadow-sm mb-3" id="import-settings" onSubmit={start} noValidate>
      <div class="card-body">
        <h2 class="h5">Which field each column fills</h2>
        <p class="small text-body-secondary">Suggested from the headers of {preview.file_name} ({mb(preview.size)}). Columns left out are not imported.</p>
        <FormAlert alert={state.alert} />
        <div class="table-responsive">
          <table class="table table-sm align-middle" id="import-mapping">
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">First rows</th>
                <th scope="col">Lead field</th>
              </tr>
            </thead>
            <tbody>
              {preview.headers.map((h, i) => (
                <tr key={i}>
                  <th scope="row">{h || <em class="text-body-secondary">(no header)</em>}</th>
                  <td class="small text-body-secondary text-truncate import-sample">{sample.slice(0, 3).map((r) => r[i] ?? "").filter(Boolean).join(" · ")}</td>
                  <td>
                    <select
                      class={`form-select form-select-sm ${state.errors[`mapping[${i}]`] ? "is-invalid" : ""}`}
                      aria-label={`Lead field of ${h || `column ${i + 1}`}`}
                      data-column={h}
                      value={mapping[i] ?? ""}
                      onChange={(e) => {
                        const next = [...mapping];
                        next[i] = ((e.currentTarget as HTMLSelectElement).value || null) as LeadColumn | null;
                        setMapping(next);
                        setDry(null);
                      }}
                    >
                      <option value="">Don't import</option>
                      {COLUMNS.map((c) => (
                        <option value={c} key={c}>
                          {sentenceCase(c)}
                        </option>
                      ))}
                    </select>
                    <div class="invalid-feedback" data-error-for={`mapping[${i}]`}>
                      {state.errors[`mapping[${i}]`]}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div class="invalid-feedback d-block" data-error-for="mapping">
          {state.errors.mapping}
        </div>
        <h3 class="h6 mt-3">Attribution of rows that have none</h3>
        <div class="row g-2">
          {(["source", "campaign", "medium"] as const).map((k) => (
            <div class="col-md-4" key={k}>
              <Field name={k} label={sentenceCase(k)} required={!has(k)} hint={has(k) ? "Rows without one get this." : undefined} error={state.errors[`attribution.${k}`]} />
            </div>
          ))}
        </div>
        <div class="d-flex flex-wrap gap-2 mt-3">
          <button type="button" class="btn btn-outline-secondary" id="import-dry-run" onClick={() => void tryRows()} disabled={state.busy}>
            Check the first 1,000 rows
          </button>
          <button type="submit" class="btn btn-primary" id="import-start" disabled={state.busy}>
            Import
          </button>
        </div>
        {dry && (
          <div class="mt-3" id="import-dry-run-result">
            <p class="mb-2">
              Of the first {count(dry.rows_checked)} rows{dry.more ? "" : " (the whole file)"}: <strong>{count(dry.report.valid)}</strong> new leads,{" "}
              <strong>{count(dry.report.duplicates)}</strong> people already there or repeated, <strong>{count(dry.report.invalid)}</strong> with mistakes.
            </p>
            {dry.report.results.length > 0 && (
              <table class="table table-sm small">
                <thead>
                  <tr>
                    <th scope="col">Row</th>
                    <th scope="col">What</th>
                  </tr>
                </thead>
                <tbody>
                  {dry.report.results.slice(0, 20).map((r) => (
                    <tr key={r.row}>
                      <td>{r.row}</td>
                      <td>
                        {r.errors.map((e) => `${sentenceCase(e.field)}: ${e.message}`).join("; ")}
                        {r.duplicates.map((d) => (d.row ? `repeats row ${d.row}` : `already a lead (${d.field})`)).join("; ")}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        )}
      </div>
    </form>
  );
}

export function ImportTab() {
  const state = useForm();
  const [uploading, setUploading] = useState<number | null>(null);
  const [preview, setPreview] = useState<{ import: Import; sample: string[][] } | null>(null);
  const [watching, setWatching] = useState<string | null>(null);
  const [recent, setRecent] = useState<Import[] | null>(null);
  const loadRecent = async () => {
    const { data } = await api.GET("/api/companies/{company_id}/data/import", { params: { path: { company_id: companyId() } } });
    setRecent(data?.items ?? []);
  };
  useEffect(() => void loadRecent(), []);
  const choose = async (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    state.start();
    setPreview(null);
    setWatching(null);
    const created = await api.POST("/api/companies/{company_id}/data/import", { params: { path: { company_id: companyId() } }, body: { file_name: file.name, size: file.size } });
    if (!created.data) return state.fail(created.error ?? {}, created.response);
    setUploading(0);
    const status = await upload(created.data.upload.url, created.data.upload.headers, file, setUploading);
    setUploading(null);
    if (status < 200 || status >= 300) return state.say("The file could not be uploaded. Try again.");
    const read = await api.POST("/api/companies/{company_id}/data/import/{import_id}/preview", { params: { path: { company_id: companyId(), import_id: created.data.import.id } } });
    input.value = "";
    if (!read.data) return state.fail(read.error ?? {}, read.response);
    state.done();
    setPreview(read.data);
  };
  return (
    <>
      <section class="card border-0 shadow-sm mb-3">
        <div class="card-body">
          <h2 class="h5">Import leads from a file</h2>
          <p class="small text-body-secondary mb-2">
            A CSV (comma, semicolon or tab separated, UTF-8) up to 512 MB, or an Excel workbook (.xlsx, its first sheet) up to 5 MB — save a bigger list as CSV — with a header row. People already in Keel are never
            duplicated: their empty fields are filled in.
          </p>
          <FormAlert alert={state.alert} />
          <label class="form-label" for="import-file">
            File
          </label>
          <input class="form-control" type="file" id="import-file" accept=".csv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" onChange={choose} disabled={state.busy} />
          <div class="invalid-feedback d-block" data-error-for="file">
            {state.errors.file ?? state.errors.size ?? state.errors.file_name}
          </div>
          {uploading !== null && (
            <div class="mt-2">
              <Bar pct={uploading} running label="Upload" />
              <div class="small text-body-secondary mt-1">Uploading…</div>
            </div>
          )}
        </div>
      </section>
      {preview && !watching && <Mapping preview={preview.import} sample={preview.sample} onStarted={(id) => setWatching(id)} />}
      {watching && <Progress id={watching} onDone={() => void loadRecent()} />}
      <section class="card border-0 shadow-sm">
        <div class="card-body">
          <h2 class="h5">Recent imports</h2>
          {recent === null ? (
            <Spinner label="Loading the imports" />
          ) : recent.length === 0 ? (
            <p class="text-body-secondary mb-0">No imports yet.</p>
          ) : (
            <ul class="list-unstyled mb-0" id="recent-imports">
              {recent.map((i) => (
                <li class="d-flex justify-content-between border-bottom py-2" key={i.id}>
                  <span>
                    {i.state === "started" ? (
                      <button class="btn btn-link p-0" onClick={() => setWatching(i.id)}>
                        {i.file_name}
                      </button>
                    ) : (
                      i.file_name
                    )}{" "}
                    <span class="small text-body-secondary">{mb(i.size)}</span>
                  </span>
                  <span class="small text-body-secondary" title={when(i.created_at)}>
                    {i.state === "started" ? "imported" : i.state === "uploaded" ? "not started" : "not uploaded"} · {ago(i.created_at)}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </section>
    </>
  );
}
