import { useEffect, useState } from "preact/hooks";
import { ActivityTimeline } from "../components/ActivityTimeline";
import { api, companyId, session } from "../api/client";
import type { AccountOverview, AccountView } from "../api/types";
import { AccountDialog } from "../components/AccountForm";
import { ContactRoles, HealthBadge, LifecycleBadge, StageBadge } from "../components/Badges";
import { ContactDialog } from "../components/ContactForm";
import { CopyId } from "../components/CopyId";
import { FactorBars, ScoreMeter, type Tone } from "../components/Factors";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Confirm } from "../components/Modal";
import { UserName } from "../components/People";
import { Panel, RecordPage } from "../components/RecordPage";
import { toast } from "../components/Toast";
import { rememberAccount } from "../lib/accounts";
import { ago, calendarDate, healthLabel, LIFECYCLE_MOVES, money, sentenceCase, when } from "../lib/format";

const BAND_TONES: Record<string, Tone> = { healthy: "success", watch: "warning", at_risk: "danger" };
const share = (points: number, max: number) => (max > 0 ? points / max : 0);
const toneOf = (fill: number): Tone => (fill >= 0.7 ? "success" : fill >= 0.4 ? "warning" : "danger");

/** The health score and the factors that make it up. */
function HealthPanel({ account }: { account: AccountView }) {
  const { health } = account;
  return (
    <Panel title="Health" id="health">
      <ScoreMeter label={`Health: ${healthLabel(health.band)}`} score={health.score} tone={BAND_TONES[health.band] ?? "muted"} />
      <FactorBars
        id="health-factors"
        factors={health.factors.map((f) => ({
          key: f.factor,
          label: sentenceCase(f.factor),
          fill: share(f.points, f.max),
          tone: toneOf(share(f.points, f.max)),
          value: `${f.points} of ${f.max}`,
          why: f.why,
        }))}
      />
    </Panel>
  );
}

function ContactsPanel({ overview, canAdd, onAdd }: { overview: AccountOverview; canAdd: boolean; onAdd: () => void }) {
  return (
    <Panel
      title="Contacts"
      id="contacts"
      actions={
        canAdd && (
          <button class="btn btn-sm btn-outline-primary" id="add-contact" onClick={onAdd}>
            + Add contact
          </button>
        )
      }
    >
      {overview.contacts.length === 0 ? (
        <p class="text-body-secondary mb-0">No contacts yet.</p>
      ) : (
        <ul class="list-group list-group-flush" id="contact-list">
          {overview.contacts.map((c) => (
            <li class="list-group-item px-0 d-flex flex-wrap justify-content-between gap-2" data-contact-id={c.contact_id}>
              <div>
                <a class="fw-semibold text-decoration-none" href={`/contacts/${c.contact_id}`}>
                  {c.first_name} {c.last_name}
                </a>
                <div class="small text-body-secondary">{[c.job_title, c.email].filter(Boolean).join(" · ")}</div>
              </div>
              <ContactRoles roles={c.roles} primary={c.primary} />
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

function OpportunitiesPanel({ overview }: { overview: AccountOverview }) {
  const deals = overview.open_opportunities;
  return (
    <Panel title="Open opportunities" id="opportunities">
      {deals.length === 0 ? (
        <p class="text-body-secondary mb-0">No open opportunities.</p>
      ) : (
        <div class="table-responsive">
          <table class="table align-middle mb-0" id="opportunity-table">
            <caption class="visually-hidden">Open opportunities</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Stage</th>
                <th scope="col" class="text-end">
                  Amount
                </th>
                <th scope="col">Close date</th>
                <th scope="col">Owner</th>
              </tr>
            </thead>
            <tbody>
              {deals.map((o) => (
                <tr data-opportunity-id={o.opportunity_id}>
                  <td class="fw-semibold">
                    <a class="text-decoration-none" href={`/deals/${o.opportunity_id}`}>
                      {o.name}
                    </a>
                  </td>
                  <td>
                    <StageBadge stage={o.stage} />
                  </td>
                  <td class="text-end text-nowrap">{o.amount ? money(o.amount.value_minor, o.amount.currency) : <span class="text-body-secondary">—</span>}</td>
                  <td class="text-nowrap">{calendarDate(o.close_date)}</td>
                  <td class="small">
                    <UserName id={o.owner_id} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

/** One account: who it is, how healthy, its people, its open deals and what happened lately. */
export default function AccountRecord({ id }: { id: string }) {
  const [overview, setOverview] = useState<AccountOverview | null | string>(null);
  const [dialog, setDialog] = useState<"edit" | "contact" | null>(null);
  const [moving, setMoving] = useState<string | null>(null);
  const load = () =>
    api
      .GET("/api/companies/{company_id}/customers/{account_id}/overview", { params: { path: { company_id: companyId(), account_id: id } } })
      .then(({ data, error }) => {
        setOverview(data ?? error?.detail ?? "This account does not exist.");
        if (data) rememberAccount(data.account);
      })
      .catch(() => setOverview("The server could not be reached. Check your connection and reload."));
  useEffect(() => void load(), [id]);
  if (overview === null) return <Spinner label="Loading the account" />;
  if (typeof overview === "string")
    return (
      <>
        <h1 class="h3">Account not found</h1>
        <ErrorNote>
          {overview} <a href="/accounts">Back to accounts</a>
        </ErrorNote>
      </>
    );
  const { account } = overview;
  const s = session.value;
  const canEdit = s?.role === "admin" || s?.role === "manager" || (s?.role === "sales_rep" && account.owner_id === s.userId);
  const move = async (lifecycle: string) => {
    setMoving(null);
    const { data, error } = await api.PATCH("/api/companies/{company_id}/customers/{account_id}", {
      params: { path: { company_id: companyId(), account_id: account.id }, header: { "If-Match": `"${account.version}"` } },
      body: { lifecycle: lifecycle as AccountView["lifecycle"] },
    });
    if (error) return toast(error.errors?.[0]?.message ?? error.detail ?? "Could not change the lifecycle.", "danger");
    toast(lifecycle === "inactive" ? "Account deactivated. It stays readable, with its history." : `The account is a ${lifecycle} now.`);
    rememberAccount(data);
    void load();
  };
  const website = account.website;
  return (
    <RecordPage
      back={{ href: "/accounts", label: "Accounts" }}
      title={account.name}
      subtitle={[account.industry, account.size && `${account.size} people`].filter(Boolean).join(" · ") || undefined}
      badges={
        <>
          <LifecycleBadge lifecycle={account.lifecycle} />
          <HealthBadge score={account.health.score} band={account.health.band} />
        </>
      }
      actions={
        <>
          <CopyId id={account.id} what="account" />
          {canEdit && (
            <>
              <button class="btn btn-primary" id="edit-account" onClick={() => setDialog("edit")}>
                Edit
              </button>
              {(LIFECYCLE_MOVES[account.lifecycle] ?? []).map((m) => (
                <button class="btn btn-outline-primary" data-move={m.to} onClick={() => setMoving(m.to)}>
                  {m.label}
                </button>
              ))}
              {account.lifecycle !== "inactive" && (
                <button class="btn btn-outline-danger" id="deactivate" onClick={() => setMoving("inactive")}>
                  Deactivate
                </button>
              )}
            </>
          )}
        </>
      }
      facts={[
        { label: "Owner", value: <UserName id={account.owner_id} /> },
        { label: "Type", value: <span class="text-capitalize">{account.type}</span> },
        {
          label: "Website and email domain",
          value: (
            <>
              {website ? (
                <a href={website} rel="noopener noreferrer" target="_blank">
                  {website.replace(/^https?:\/\//, "")}
                </a>
              ) : (
                "No website"
              )}
              <div class="small text-body-secondary">{account.domain ? `@${account.domain}` : "no email domain"}</div>
            </>
          ),
        },
        {
          label: "Last activity",
          value: account.last_activity_at ? <span title={when(account.last_activity_at)}>{ago(account.last_activity_at)}</span> : "None yet",
        },
      ]}
      aside={
        <ActivityTimeline kind="account" id={account.id} related={[{ kind: "account", id: account.id }]} />
      }
    >
      {account.lifecycle === "inactive" && (
        <div class="alert alert-secondary" role="status">
          This account is inactive: it is left out of lists and takes no new contacts or deals. Reactivate it as a prospect to work with it again.
        </div>
      )}
      <ContactsPanel overview={overview} canAdd={s?.role !== "viewer" && account.lifecycle !== "inactive"} onAdd={() => setDialog("contact")} />
      <OpportunitiesPanel overview={overview} />
      <HealthPanel account={account} />
      {dialog === "edit" && (
        <AccountDialog
          account={account}
          onClose={() => setDialog(null)}
          onSaved={(a) => {
            setDialog(null);
            rememberAccount(a);
            toast("Changes saved.");
            void load();
          }}
        />
      )}
      {dialog === "contact" && (
        <ContactDialog
          accountId={account.id}
          onClose={() => setDialog(null)}
          onSaved={(c) => {
            setDialog(null);
            toast(`${c.first_name} ${c.last_name} added.`);
            void load();
          }}
        />
      )}
      {moving && (
        <Confirm
          title={moving === "inactive" ? `Deactivate ${account.name}?` : `Make ${account.name} a ${moving}?`}
          text={
            moving === "inactive"
              ? "Accounts are never deleted: it leaves the lists and stays readable here, with its contacts, deals and history. It can be reactivated as a prospect."
              : `Its lifecycle moves from ${account.lifecycle} to ${moving}.`
          }
          action={moving === "inactive" ? "Deactivate" : (LIFECYCLE_MOVES[account.lifecycle]?.find((m) => m.to === moving)?.label ?? "Change")}
          tone={moving === "inactive" ? "danger" : "primary"}
          onConfirm={() => void move(moving)}
          onClose={() => setMoving(null)}
        />
      )}
    </RecordPage>
  );
}
