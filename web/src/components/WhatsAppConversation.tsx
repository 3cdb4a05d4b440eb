// A lead's WhatsApp conversation: the messages its timeline holds, oldest first, as a chat reads.
// Shown only when there is one (most leads never write on WhatsApp).
import { useEffect, useState } from "preact/hooks";
import { api, companyId } from "../api/client";
import type { components } from "../api/schema";
import { when } from "../lib/format";
import { Panel } from "./RecordPage";

type Activity = components["schemas"]["Activity"];

export function WhatsAppConversation({ leadId }: { leadId: string }) {
  const [messages, setMessages] = useState<Activity[]>([]);
  useEffect(() => {
    let live = true;
    api
      .GET("/api/companies/{company_id}/leads/{lead_id}/timeline", {
        params: { path: { company_id: companyId(), lead_id: leadId }, query: { type: "whatsapp", limit: 50 } },
      })
      .then(({ data }) => live && setMessages([...(data?.items ?? [])].reverse()))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [leadId]);
  if (messages.length === 0) return null;
  return (
    <Panel title="WhatsApp" id="whatsapp-conversation">
      <ol class="list-unstyled mb-0 chat" aria-label="WhatsApp messages, oldest first">
        {messages.map((m) => (
          <li class="chat-message" key={m.id}>
            <div class="chat-bubble">{m.body ?? "(no text)"}</div>
            <div class="small text-body-secondary">{when(m.occurred_at)}</div>
          </li>
        ))}
      </ol>
    </Panel>
  );
}
