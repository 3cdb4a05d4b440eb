// Schema types used by more than one page.
import type { components } from "./schema";

export type DashboardSummary = components["schemas"]["DashboardSummary"];
export type BackgroundWork = components["schemas"]["BackgroundWork"];
export type Job = components["schemas"]["Job"];
export type Account = components["schemas"]["Account"];
export type AccountView = components["schemas"]["AccountView"];
export type AccountOverview = components["schemas"]["AccountOverview"];
export type Contact = components["schemas"]["Contact"];
export type ContactRole = components["schemas"]["ContactRole"];
export type Condition = components["schemas"]["Condition"];
