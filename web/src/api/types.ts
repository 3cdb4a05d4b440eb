// Schema types used by more than one page.
import type { components } from "./schema";

export type DashboardSummary = components["schemas"]["DashboardSummary"];
export type BackgroundWork = components["schemas"]["BackgroundWork"];
export type Job = components["schemas"]["Job"];
