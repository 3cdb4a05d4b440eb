// Schema types used by more than one page.
import type { components } from "./schema";

export type DashboardSummary = components["schemas"]["DashboardSummary"];
export type BackgroundTasks = components["schemas"]["BackgroundTasks"];
export type SystemInfo = components["schemas"]["SystemInfo"];
