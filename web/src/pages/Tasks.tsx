// Tasks: mine (open, soonest due first), the overdue ones with their escalations, and automation
// (the company's rules, a run on demand, and how tasks do per rule and per priority as bars).
import { useEffect, useState } from "preact/hooks";
import { api, companyId, session } from "../api/client";
import type { components } from "../api/schema";
import { DataTable } from "../components/DataTable";
import { FactorBars, type Factor } from "../components/Factors";
import { Field, FormAlert, SelectField } from "../components/Form";
import { Modal } from "../components/Modal";
import { PageHeader } from "../components/PageHeader";
import { UserName } from "../components/People";
import { toast } from "../components/Toast";
import { ago, count, when, words } from "../lib/format";
import { useSubmissionKey } from "../lib/idempotency";
import { useQueryState } from "../lib/query";

type Task = components["schemas"]["Task"];
type Rule = components["schemas"]["AutomationRule"];
type Stats = components["schemas"]["AutomationStats"];

const VIEWS = [
  ["mine", "My tasks"],
  ["overdue", "Overdue"],
  ["automation", "Automation"],
] as const;
const PRIORITIES = ["low", "normal", "high", "urgent"] as const;
const RECORD_PAGES = { lead: "/leads", account: "/accounts", contact: "/contacts", deal: "/deals" } as const;
/** Where the viewer's day starts, for "today" and "this week". */
const utcOffset = () => -new Date().getTimezoneOffset();

export function PriorityBadge({ priority }: { priority: string }) {
  return <span class={`badge priority-badge priority-${priority}`}>{words(priority)}</span>;
}

/** When it is due, in words that say how late it is. */
function Due({ task }: { task: Task }) {
  const late = new Date(task.due_at).getTime() < Date.now() && !["done", "cancelled"].includes(task.status);
  return (
    <span class={late ? "text-danger fw-semibold" : ""} title={when(task.due_at)}>
      {late ? `overdue, due ${ago(task.due_at)}` : when(task.due_at)}
    </span>
  );
}

function Escalation({ task }: { task: Task }) {
  if (!task.escalation_level) return null;
  return (
    <span class="badge escalated-badge ms-1" data-escalation={task.escalation_level} title="Raised in priority and sent to the managers">
      escalated{task.escalation_level > 1 ? ` ×${task.escalation_level}` : ""}
    </span>
  );
}

function TaskTable({ id, query, reload, onChanged, empty }: { id: string; query: Record<string, string | number>; reload: number; onChanged: () => void; empty: string }) {
  const canWrite = session.value?.role !== "viewer";
  const load = async (cursor: string | null) => {
    const q: Record<string, string | number> = { limit: 25, utc_offset: utcOffset(), ...query };
    if (cursor) q.cursor = cursor;
    const { data, error } = await api.GET("/api/companies/{company_id}/tasks", { params: { path: { company_id: companyId() }, query: q } });
    return data ?? error?.errors?.[0]?.message ?? error?.detail ?? "Could not load tasks.";
  };
  const complete = async (t: Task) => {
    const { data, error } = await api.PATCH("/api/companies/{company_id}/tasks/{task_id}", {
      params: { path: { company_id: companyId(), task_id: t.id } },
      body: { status: "done", version: t.version },
    });
    if (!data) return toast(error?.detail ?? "Could not complete the task.", "danger");
    toast(t.related ? "Done, and logged on its timeline." : "Done.");
    onChanged();
  };
  return (
    <div class="card border-0 shadow-sm">
      <DataTable<Task>
        id={id}
        caption="Tasks"
        reloadKey={`${JSON.stringify(query)}-${reload}`}
        load={load}
        rowKey={(t) => t.id}
        rowAttrs={(t) => ({ "data-task": t.title })}
        empty={empty}
        columns={[
          {
            title: "Task",
            cell: (t) => (
              <>
                <span class="fw-semibold">{t.title}</span>
                {t.rule_id && <span class="badge text-bg-light border ms-1">automation</span>}
                {t.description && <div class="small text-body-secondary text-truncate task-note">{t.description}</div>}
              </>
            ),
          },
          {
            title: "Priority",
            cell: (t) => (
              <>
                <PriorityBadge priority={t.priority} />
                <Escalation task={t} />
              </>
            ),
          },
          { title: "Due", class: "small text-nowrap", cell: (t) => <Due task={t} /> },
          {
            title: "About",
            class: "small",
            cell: (t) =>
              t.related ? (
                <a class="badge text-bg-light border text-decoration-none" href={`${RECORD_PAGES[t.related.kind]}/${t.related.id}`}>
                  {words(t.related.kind)}
                </a>
              ) : (
                <span class="text-body-secondary">—</span>
              ),
          },
          { title: "Assignee", class: "small", cell: (t) => <UserName id={t.assignee_id} /> },
          {
            title: "Actions",
            class: "text-end",
            cell: (t) =>
              canWrite && !["done", "cancelled"].includes(t.status) ? (
                <button class="btn btn-sm btn-outline-success" data-complete={t.id} onClick={() => void complete(t)}>
                  Done
                </button>
              ) : null,
          },
        ]}
      />
    </div>
  );
}

function NewTask({ onClose, onSaved }: { onClose: () => void; onSaved: () => void }) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [alert, setAlert] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const key = useSubmissionKey();
  const tomorrow = new Date(Date.now() + 86_400_000);
  tomorrow.setMinutes(0, 0, 0);
  const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const due = String(f.get("due_at") ?? "");
    if (!due) return setErrors({ due_at: "is required" });
    setBusy(true);
    try {
      const { data, error } = await api.POST("/api/companies/{company_id}/tasks", {
        params: { path: { company_id: companyId() }, header: { "Idempotency-Key": key.current() } },
        body: {
          title: String(f.get("title") ?? ""),
          description: String(f.get("description") ?? "").trim() || undefined,
          due_at: new Date(due).toISOString(),
          priority: String(f.get("priority")) as Task["priority"],
        },
      });
      key.answered();
      if (!data) {
        setErrors(Object.fromEntries((error?.errors ?? []).map((x) => [x.field, x.message])));
        setAlert(error?.errors?.length ? null : (error?.detail ?? "Could not save."));
        return;
      }
      toast("Task added.");
      onSaved();
    } catch {
      setAlert("The server could not be reached. Try again: it will not be saved twice.");
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal
      title="New task"
      onClose={onClose}
      footer={
        <>
          <button type="button" class="btn btn-link" onClick={onClose}>
            Cancel
          </button>
          <button class="btn btn-primary" form="task-form" disabled={busy} id="save-task">
            {busy ? "Saving…" : "Add task"}
          </button>
        </>
      }
    >
      <form id="task-form" onSubmit={submit} noValidate>
        <FormAlert alert={alert} />
        <Field name="title" label="Title" required error={errors.title} />
        <Field name="description" label="Details" error={errors.description} />
        <div class="row g-2">
          <Field class="col-sm-7" name="due_at" label="Due" type="datetime-local" defaultValue={local(tomorrow)} error={errors.due_at} />
          <SelectField class="col-sm-5" name="priority" id="task-priority" label="Priority" options={PRIORITIES.map((p): [string, string] => [p, words(p)])} defaultValue="normal" />
        </div>
      </form>
    </Modal>
  );
}

const TRIGGERS = [
  ["lead_created", "A lead is captured"],
  ["lead_idle", "A lead has no activity for a while"],
  ["deal_idle", "A deal has no activity for a while"],
] as const;

function NewRule({ onSaved }: { onSaved: () => void }) {
  const [trigger, setTrigger] = useState<Rule["trigger"]>("lead_created");
  const [errors, setErrors] = useState<Record<string, string>>({});
  // A new key after each save: the form starts over with its defaults.
  const [round, setRound] = useState(0);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const text = (n: string) => String(f.get(n) ?? "").trim();
    const num = (n: string) => (text(n) === "" ? undefined : Number(text(n)));
    setBusy(true);
    try {
      const { data, error } = await api.POST("/api/companies/{company_id}/tasks/automation-rules", {
        params: { path: { company_id: companyId() } },
        body: {
          name: text("name"),
          trigger,
          source: trigger === "deal_idle" ? undefined : text("source") || undefined,
          min_score: trigger === "deal_idle" ? undefined : num("min_score"),
          idle_hours: trigger === "lead_created" ? undefined : num("idle_hours"),
          task_title: text("task_title"),
          task_priority: text("task_priority") as Rule["task_priority"],
          due_in_hours: num("due_in_hours") ?? 0,
        },
      });
      if (!data) {
        const fields = Object.fromEntries((error?.errors ?? []).map((x) => [x.field, x.message]));
        return setErrors(Object.keys(fields).length ? fields : { name: error?.detail ?? "Could not save." });
      }
      setErrors({});
      setTrigger("lead_created");
      setRound((n) => n + 1);
      toast("Rule added.");
      onSaved();
    } finally {
      setBusy(false);
    }
  };
  return (
    <form key={round} class="border-top pt-3 mt-3" id="rule-form" onSubmit={submit} noValidate aria-label="New rule">
      <h3 class="h6">New rule</h3>
      <div class="row g-2">
        <Field class="col-sm-6" name="name" id="rule-name" label="Name" required error={errors.name} />
        <SelectField
          class="col-sm-6"
          name="trigger"
          id="rule-trigger"
          label="When"
          options={TRIGGERS.map(([k, l]): [string, string] => [k, l])}
          value={trigger}
          onChange={(e) => setTrigger(e.currentTarget.value as Rule["trigger"])}
          error={errors.trigger}
        />
        {trigger !== "deal_idle" && (
          <>
            <Field class="col-sm-6" name="source" id="rule-source" label="Source (any if empty)" error={errors.source} />
            <Field class="col-sm-6" name="min_score" id="rule-min-score" label="Score at least" type="number" min={0} max={100} error={errors.min_score} />
          </>
        )}
        {trigger !== "lead_created" && <Field class="col-sm-6" name="idle_hours" id="rule-idle" label="Hours without activity" type="number" min={1} max={2160} error={errors.idle_hours} />}
        <Field class="col-sm-6" name="task_title" id="rule-task-title" label="Task ({name} for the record)" required error={errors.task_title} />
        <SelectField class="col-sm-3" name="task_priority" id="rule-priority" label="Priority" options={PRIORITIES.map((p): [string, string] => [p, words(p)])} defaultValue="normal" />
        <Field class="col-sm-3" name="due_in_hours" id="rule-due" label="Due in (h)" type="number" min={0} max={720} defaultValue="1" error={errors.due_in_hours} />
      </div>
      <button class="btn btn-sm btn-primary" id="save-rule" disabled={busy}>
        {busy ? "Saving…" : "Add rule"}
      </button>
    </form>
  );
}

/** Share of `part` in `whole`, as a bar's fill. */
const share = (part: number, whole: number) => (whole > 0 ? Math.min(1, part / whole) : 0);
const percent = (r: number) => `${Math.round(r * 100)}%`;

function Automation({ canManage }: { canManage: boolean }) {
  const [rules, setRules] = useState<Rule[] | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [running, setRunning] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const load = async () => {
    const path = { company_id: companyId() };
    const [r, s] = await Promise.all([
      api.GET("/api/companies/{company_id}/tasks/automation-rules", { params: { path } }),
      api.GET("/api/companies/{company_id}/tasks/automation-stats", { params: { path } }),
    ]);
    if (!r.data || !s.data) return setFailed("The automation figures could not be read.");
    setRules(r.data.items);
    setStats(s.data);
  };
  useEffect(() => void load(), []);
  const toggle = async (rule: Rule) => {
    const { data, error } = await api.PATCH("/api/companies/{company_id}/tasks/automation-rules/{rule_id}", {
      params: { path: { company_id: companyId(), rule_id: rule.id } },
      body: { active: !rule.active, version: rule.version },
    });
    if (!data) return toast(error?.detail ?? "Could not change the rule.", "danger");
    void load();
  };
  const run = async () => {
    setRunning(true);
    try {
      const { data, error } = await api.POST("/api/companies/{company_id}/tasks/auto-create-for-leads", { params: { path: { company_id: companyId() } }, body: {} });
      if (!data) return toast(error?.detail ?? "The rules could not run.", "danger");
      const n = (k: number, one: string, many: string) => `${count(k)} ${k === 1 ? one : many}`;
      toast(`Looked at ${n(data.examined, "lead", "leads")}: ${n(data.created, "task", "tasks")} made, ${count(data.already_open)} already had theirs.`);
      void load();
    } finally {
      setRunning(false);
    }
  };
  if (failed) return <p class="text-danger">{failed}</p>;
  if (!rules || !stats) return <p class="text-body-secondary">Loading…</p>;
  const name = (key: string) => (key === "manual" ? "Made by hand" : (rules.find((r) => r.id === key)?.name ?? "A deleted rule"));
  const bars = (rows: Stats["by_rule"], label: (k: string) => string): Factor[] =>
    rows.map((c) => ({
      key: c.key,
      label: label(c.key),
      fill: c.completion_rate,
      tone: c.overdue_rate > 0.3 ? "danger" : c.overdue_rate > 0.1 ? "warning" : "success",
      value: `${count(c.created)} made · ${percent(c.completion_rate)} done`,
      why: `${percent(c.overdue_rate)} went overdue (${count(c.overdue)}), ${count(c.cancelled)} cancelled`,
      strong: c.created > 0,
    }));
  const made = Math.max(1, ...stats.by_priority.map((p) => p.created));
  return (
    <div class="row g-3">
      <div class="col-lg-6">
        <div class="card border-0 shadow-sm h-100">
          <div class="card-body">
            <div class="d-flex justify-content-between align-items-start mb-2">
              <h2 class="h6 mb-0">Rules</h2>
              {canManage && (
                <button class="btn btn-sm btn-outline-primary" id="run-rules" disabled={running} onClick={() => void run()}>
                  {running ? "Running…" : "Run lead rules now"}
                </button>
              )}
            </div>
            {rules.length === 0 ? (
              <p class="small text-body-secondary mb-0">No rules yet. Rules make follow-up tasks by themselves: a call for each new website lead, a nudge when a hot lead goes quiet.</p>
            ) : (
              <ul class="list-unstyled mb-0" id="automation-rules">
                {rules.map((r) => (
                  <li class="d-flex justify-content-between gap-2 border-bottom py-2" data-rule={r.name}>
                    <div>
                      <div class="fw-semibold">{r.name}</div>
                      <div class="small text-body-secondary">
                        {words(r.trigger)}
                        {r.source ? ` · source ${r.source}` : ""}
                        {r.min_score != null ? ` · score ≥ ${r.min_score}` : ""}
                        {r.idle_hours ? ` · after ${r.idle_hours} h without activity` : ""} → “{r.task_title}”, due in {r.due_in_hours} h
                      </div>
                    </div>
                    {canManage ? (
                      <div class="form-check form-switch">
                        <input class="form-check-input" type="checkbox" role="switch" id={`rule-${r.id}`} checked={r.active} onChange={() => void toggle(r)} />
                        <label class="form-check-label small" for={`rule-${r.id}`}>
                          {r.active ? "On" : "Off"}
                        </label>
                      </div>
                    ) : (
                      <span class="small">{r.active ? "On" : "Off"}</span>
                    )}
                  </li>
                ))}
              </ul>
            )}
            {canManage && <NewRule onSaved={() => void load()} />}
          </div>
        </div>
      </div>
      <div class="col-lg-6">
        <div class="card border-0 shadow-sm mb-3">
          <div class="card-body">
            <h2 class="h6">Per rule: share done</h2>
            {stats.by_rule.length === 0 ? <p class="small text-body-secondary mb-0">No tasks yet.</p> : <FactorBars id="stats-by-rule" factors={bars(stats.by_rule, name)} />}
          </div>
        </div>
        <div class="card border-0 shadow-sm">
          <div class="card-body">
            <h2 class="h6">Per priority: tasks made</h2>
            <FactorBars
              id="stats-by-priority"
              factors={stats.by_priority.map((c) => ({
                key: c.key,
                label: words(c.key),
                fill: share(c.created, made),
                tone: c.overdue_rate > 0.3 ? "danger" : c.overdue_rate > 0.1 ? "warning" : "success",
                value: `${count(c.created)} made`,
                why: `${percent(c.completion_rate)} done, ${percent(c.overdue_rate)} went overdue`,
                strong: c.created > 0,
              }))}
            />
          </div>
        </div>
      </div>
    </div>
  );
}

export default function Tasks() {
  const [q, setQ] = useQueryState(["view"] as const);
  const view = q.view || "mine";
  const [creating, setCreating] = useState(false);
  const [reload, setReload] = useState(0);
  const role = session.value?.role;
  const canWrite = role !== "viewer";
  const manager = role === "admin" || role === "manager";
  return (
    <>
      <PageHeader title="Tasks" note="Follow-ups with a due time; overdue ones are escalated to the managers.">
        {canWrite && (
          <button class="btn btn-primary" id="new-task" onClick={() => setCreating(true)}>
            + New task
          </button>
        )}
      </PageHeader>
      <ul class="nav nav-tabs mb-3" role="tablist" aria-label="Task views">
        {VIEWS.map(([key, label]) => (
          <li class="nav-item" role="presentation">
            <button class={`nav-link ${view === key ? "active" : ""}`} role="tab" id={`tasks-${key}`} aria-selected={view === key} onClick={() => setQ({ view: key })}>
              {label}
            </button>
          </li>
        ))}
      </ul>
      <div role="tabpanel" aria-labelledby={`tasks-${view}`}>
        {view === "mine" && <TaskTable id="my-tasks" query={{ assignee: "me" }} reload={reload} onChanged={() => setReload((n) => n + 1)} empty="Nothing on your list." />}
        {view === "overdue" && (
          <TaskTable
            id="overdue-tasks"
            query={manager ? { due: "overdue" } : { due: "overdue", assignee: "me" }}
            reload={reload}
            onChanged={() => setReload((n) => n + 1)}
            empty="Nothing is overdue."
          />
        )}
        {view === "automation" && <Automation canManage={manager} />}
      </div>
      {creating && (
        <NewTask
          onClose={() => setCreating(false)}
          onSaved={() => {
            setCreating(false);
            setReload((n) => n + 1);
          }}
        />
      )}
    </>
  );
}
