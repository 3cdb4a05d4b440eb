//! Task events (source `keel.tasks`), emitted by the tasks context.

use chrono::{DateTime, Utc};
use keel_core::task::{Task, TaskPriority};
use serde::{Deserialize, Serialize};

use crate::DomainEvent;

pub const SOURCE_TASKS: &str = "keel.tasks";

/// An overdue task reached its next escalation level: its priority was raised and the
/// company's managers were told in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEscalated {
    pub task_id: String,
    pub assignee_id: String,
    /// 1 for the first escalation.
    pub level: u8,
    pub priority: TaskPriority,
    pub due_at: DateTime<Utc>,
    /// Who was notified.
    pub notified: Vec<String>,
}

impl TaskEscalated {
    pub fn of(task: &Task, notified: Vec<String>) -> Self {
        TaskEscalated {
            task_id: task.id.to_string(),
            assignee_id: task.assignee_id.clone(),
            level: task.escalation_level,
            priority: task.priority,
            due_at: task.due_at,
            notified,
        }
    }
}

impl DomainEvent for TaskEscalated {
    const DETAIL_TYPE: &'static str = "TaskEscalated";
    const SOURCE: &'static str = SOURCE_TASKS;
    const VERSION: u32 = 1;
}
