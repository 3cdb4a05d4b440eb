import { useEffect, useState } from "preact/hooks";
import { ActivityTimeline } from "../components/ActivityTimeline";
import { api, companyId, session } from "../api/client";
import type { Contact } from "../api/types";
import { AccountLink } from "../components/Accounts";
import { ContactRoles } from "../components/Badges";
import { ContactDialog } from "../components/ContactForm";
import { CopyId } from "../components/CopyId";
import { ErrorNote, Spinner } from "../components/Feedback";
import { Confirm } from "../components/Modal";
import { UserName } from "../components/People";
import { RecordPage, Section } from "../components/RecordPage";
import { toast } from "../components/Toast";
import { ago, when } from "../lib/format";
import { navigate } from "../lib/nav";

/** One contact: their account, roles and ways to reach them; edit, move or delete. */
export default function ContactRecord({ id }: { id: string }) {
  const [contact, setContact] = useState<Contact | null | string>(null);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  useEffect(() => {
    void api
      .GET("/api/companies/{company_id}/contacts/{contact_id}", { params: { path: { company_id: companyId(), contact_id: id } } })
      .then(({ data, error }) => setContact(data ?? error?.detail ?? "This contact does not exist."))
      .catch(() => setContact("The server could not be reached. Check your connection and reload."));
  }, [id]);
  if (contact === null) return <Spinner label="Loading the contact" />;
  if (typeof contact === "string")
    return (
      <>
        <h1 class="h3">Contact not found</h1>
        <ErrorNote>
          {contact} <a href="/contacts">Back to contacts</a>
        </ErrorNote>
      </>
    );
  const role = session.value?.role;
  const manages = role === "admin" || role === "manager";
  const canEdit = manages || (role === "sales_rep" && contact.owner_id === session.value?.userId);
  const remove = async () => {
    setDeleting(false);
    const { error } = await api.DELETE("/api/companies/{company_id}/contacts/{contact_id}", {
      params: { path: { company_id: companyId(), contact_id: contact.id } },
    });
    if (error) return toast(error.detail ?? "Could not delete the contact.", "danger");
    toast(`${contact.first_name} ${contact.last_name} deleted. The audit log keeps what they were.`);
    navigate(`/accounts/${contact.account_id}`);
  };
  return (
    <RecordPage
      back={{ href: "/contacts", label: "Contacts" }}
      title={`${contact.first_name} ${contact.last_name}`}
      subtitle={contact.job_title ?? undefined}
      badges={contact.roles.length > 0 || contact.primary ? <ContactRoles roles={contact.roles} primary={contact.primary} /> : undefined}
      actions={
        <>
          <CopyId id={contact.id} what="contact" />
          {canEdit && (
            <button class="btn btn-primary" id="edit-contact" onClick={() => setEditing(true)}>
              Edit
            </button>
          )}
          {manages && (
            <button class="btn btn-outline-danger" id="delete-contact" onClick={() => setDeleting(true)}>
              Delete
            </button>
          )}
        </>
      }
      facts={[
        { label: "Account", value: <AccountLink id={contact.account_id} /> },
        { label: "Email", value: contact.email ? <a href={`mailto:${contact.email}`}>{contact.email}</a> : "—" },
        { label: "Phone", value: contact.phone ? <a href={`tel:${contact.phone}`}>{contact.phone}</a> : "—" },
        { label: "Owner", value: <UserName id={contact.owner_id} /> },
      ]}
      aside={
        <ActivityTimeline
          kind="contact"
          id={contact.id}
          related={[
            { kind: "contact", id: contact.id },
            { kind: "account", id: contact.account_id },
          ]}
        />
      }
    >
      <Section
        title="Details"
        rows={[
          ["Job title", contact.job_title],
          ["Primary contact", contact.primary ? "Yes: the account's correspondence goes to them" : "No"],
          ["Came from", contact.source_lead_id ? <a href={`/leads/${contact.source_lead_id}`}>the lead they were converted from</a> : null],
          ["Updated", <span title={when(contact.updated_at)}>{ago(contact.updated_at)}</span>],
        ]}
      />
      {editing && (
        <ContactDialog
          contact={contact}
          onClose={() => setEditing(false)}
          onSaved={(c) => {
            setEditing(false);
            setContact(c);
            toast(c.account_id !== contact.account_id ? "Contact moved, with their history." : "Changes saved.");
          }}
        />
      )}
      {deleting && (
        <Confirm
          title={`Delete ${contact.first_name} ${contact.last_name}?`}
          text={`They leave ${contact.primary ? "their account without a primary contact until another is made primary; " : "their account; "}their activities stay on the account's timeline and the audit log keeps what they were.`}
          action="Delete"
          onConfirm={() => void remove()}
          onClose={() => setDeleting(false)}
        />
      )}
    </RecordPage>
  );
}
