//! The permission matrix: what each role may do, in one place. Handlers ask
//! [`TenantContext::require`] or [`TenantContext::require_edit`]; the matrix is served at
//! `GET /api/permissions/roles` so clients show only what a user can do.

use serde::Serialize;
use utoipa::ToSchema;

use crate::{ApiError, Role, TenantContext};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read the company's records (leads, dashboard, event feed).
    ReadRecords,
    /// Create records and change or archive the records one owns.
    EditOwnRecords,
    /// Change or archive anyone's records, and assign them to others.
    EditAllRecords,
    /// Invite users, change roles, deactivate users, set policies.
    ManageUsers,
    /// Read the audit trail (a company's, or for operators the platform's).
    ReadAudit,
    /// See the company's background work (imports, bulk actions, redrives) and event delivery.
    ViewBackgroundWork,
    /// Operate the platform: queue depths, dead letters and their redrive, deployment info.
    OperateSystem,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::ReadRecords,
        Permission::EditOwnRecords,
        Permission::EditAllRecords,
        Permission::ManageUsers,
        Permission::ReadAudit,
        Permission::ViewBackgroundWork,
        Permission::OperateSystem,
    ];
}

impl Role {
    /// The roles a company's users have (operators are not among them).
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::SalesRep, Role::Viewer];

    /// The matrix.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[ReadRecords, EditOwnRecords, EditAllRecords, ManageUsers, ReadAudit, ViewBackgroundWork],
            Role::Manager => &[ReadRecords, EditOwnRecords, EditAllRecords],
            Role::SalesRep => &[ReadRecords, EditOwnRecords],
            Role::Viewer => &[ReadRecords],
            // Operators act on the platform, never on a company's records.
            Role::Operator => &[OperateSystem, ReadAudit],
        }
    }

    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

impl TenantContext {
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.can(p) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(match p {
                Permission::ReadRecords => "Your role cannot read records.",
                Permission::EditOwnRecords => "Your role can read but not change records.",
                Permission::EditAllRecords => "Your role can change only the records you own.",
                Permission::ManageUsers => "Only administrators manage users and the company's policies.",
                Permission::ReadAudit => "Only administrators can read the audit trail.",
                Permission::ViewBackgroundWork => "Only administrators see the company's background work.",
                Permission::OperateSystem => "Only platform operators see and operate the platform.",
            }))
        }
    }

    /// May the caller change a record owned by `owner_id` (and leave it owned by `new_owner_id`)?
    /// Sales reps change their own records and cannot give them away; managers and admins change all.
    pub fn require_edit(&self, owner_id: &str, new_owner_id: &str) -> Result<(), ApiError> {
        self.require(Permission::EditOwnRecords)?;
        if self.role.can(Permission::EditAllRecords) || (owner_id == self.user_id && new_owner_id == self.user_id) {
            Ok(())
        } else {
            self.require(Permission::EditAllRecords)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_follows_the_roles_promise() {
        assert!(Permission::ALL.iter().all(|p| Role::Admin.can(*p) != (*p == Permission::OperateSystem)));
        assert_eq!(Role::Operator.permissions(), &[Permission::OperateSystem, Permission::ReadAudit]);
        assert!(Role::Manager.can(Permission::EditAllRecords) && !Role::Manager.can(Permission::ManageUsers));
        assert!(Role::SalesRep.can(Permission::EditOwnRecords) && !Role::SalesRep.can(Permission::EditAllRecords));
        assert_eq!(Role::Viewer.permissions(), &[Permission::ReadRecords]);
        for role in Role::ALL {
            assert!(role.can(Permission::ReadRecords), "every company role reads");
            assert!(!role.can(Permission::OperateSystem), "no company role operates the platform");
        }
    }
}
