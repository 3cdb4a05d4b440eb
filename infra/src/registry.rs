//! Every function Keel deploys, by its declaration. This is the one list: the dev server, the
//! local plumbing, the OpenAPI document and the conformance check read it, and the conformance
//! check holds it to template.yaml (a function in one and not the other fails `make test`).

use keel_function::Function;

pub fn functions() -> Vec<Function> {
    vec![
        keel_leads::function(),
        keel_leads::conversion_function(),
        keel_customers::function(),
        keel_customers::revenue_function(),
        keel_deals::function(),
        keel_deals::rollups_function(),
        keel_activities::function(),
        keel_activities::timeline_function(),
        keel_tasks::function(),
        keel_tasks::work_function(),
        keel_capture::function(),
        keel_capture::import_function(),
        keel_governance::function(),
        keel_governance::duplicate_index_function(),
        keel_identity::function(),
        keel_dashboard::function(),
        keel_dashboard::counters_function(),
        keel_integrations::function(),
        keel_audit::function(),
        keel_system::function(),
        keel_system::jobs_function(),
        keel_system::scheduler_function(),
        keel_relay::function(),
    ]
}
