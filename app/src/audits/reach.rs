//! What a user may read of the compliance areas (frameworks, requirements, controls,
//! evidence): everything for the organisation's own roles; for auditors, only what the audits
//! they are assigned to cover. That is the audits' frameworks, the controls mapped to their
//! requirements, the evidence linked to those controls, and the evidence that answers the
//! audits' requests. Every area that shows these asks here, on the server, for each request;
//! the page cache is keyed by user and emptied by any change, so an assignment takes effect at
//! once.

use crate::context::CurrentUser;
use crate::error::AppError;
use crate::policy::Permission;
use sqlx::AnyPool;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    Everything,
    /// An auditor's: the ids their audits cover (closed audits included: the audit's own page
    /// and its evidence stay readable to the end of the account's access).
    Audits {
        frameworks: HashSet<i64>,
        controls: HashSet<i64>,
        evidence: HashSet<i64>,
    },
}

impl Reach {
    pub async fn of(pool: &AnyPool, user: &CurrentUser) -> Result<Reach, AppError> {
        // Scoped by the permission that makes a user an auditor, not by the role's name.
        if !user.can(Permission::AuditWork) {
            return Ok(Reach::Everything);
        }
        let frameworks: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT af.framework_id FROM audit_frameworks af
             JOIN audit_auditors aa ON aa.audit_id = af.audit_id WHERE aa.user_id = $1",
        )
        .bind(user.id)
        .fetch_all(pool)
        .await?;
        let controls: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT cr.control_id FROM control_requirements cr
             JOIN requirements r ON r.id = cr.requirement_id
             JOIN audit_frameworks af ON af.framework_id = r.framework_id
             JOIN audit_auditors aa ON aa.audit_id = af.audit_id WHERE aa.user_id = $1",
        )
        .bind(user.id)
        .fetch_all(pool)
        .await?;
        let evidence: Vec<i64> = sqlx::query_scalar(
            "SELECT ec.evidence_id FROM evidence_controls ec
             JOIN control_requirements cr ON cr.control_id = ec.control_id
             JOIN requirements r ON r.id = cr.requirement_id
             JOIN audit_frameworks af ON af.framework_id = r.framework_id
             JOIN audit_auditors aa ON aa.audit_id = af.audit_id WHERE aa.user_id = $1
             UNION
             SELECT re.evidence_id FROM audit_request_evidence re
             JOIN audit_requests q ON q.id = re.request_id
             JOIN audit_auditors aa ON aa.audit_id = q.audit_id WHERE aa.user_id = $1",
        )
        .bind(user.id)
        .fetch_all(pool)
        .await?;
        Ok(Reach::Audits {
            frameworks: frameworks.into_iter().collect(),
            controls: controls.into_iter().collect(),
            evidence: evidence.into_iter().collect(),
        })
    }

    pub fn framework(&self, id: i64) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Audits { frameworks, .. } => frameworks.contains(&id),
        }
    }

    pub fn control(&self, id: i64) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Audits { controls, .. } => controls.contains(&id),
        }
    }

    pub fn evidence(&self, id: i64) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Audits { evidence, .. } => evidence.contains(&id),
        }
    }

    /// An SQL condition keeping `column` (a framework id) within reach: the ids are integers
    /// read from the database, so they are written into the statement.
    pub fn frameworks_sql(&self, column: &str) -> String {
        match self {
            Reach::Everything => "1 = 1".into(),
            Reach::Audits { frameworks, .. } => in_list(column, frameworks),
        }
    }

    /// The same for `column` holding a control id.
    pub fn controls_sql(&self, column: &str) -> String {
        match self {
            Reach::Everything => "1 = 1".into(),
            Reach::Audits { controls, .. } => in_list(column, controls),
        }
    }

    /// The same for `column` holding an evidence id.
    pub fn evidence_sql(&self, column: &str) -> String {
        match self {
            Reach::Everything => "1 = 1".into(),
            Reach::Audits { evidence, .. } => in_list(column, evidence),
        }
    }
}

/// The audit trail an auditor reads: the periods `[start, end)` of their audits (`None`:
/// everything, for the organisation's roles). The same events an audit's export holds.
pub async fn trail_periods(
    pool: &AnyPool,
    user: &CurrentUser,
) -> Result<Option<Vec<(String, String)>>, AppError> {
    if !user.can(Permission::AuditWork) {
        return Ok(None);
    }
    let periods = sqlx::query_as(
        "SELECT a.period_start, a.period_end FROM audits a
         JOIN audit_auditors aa ON aa.audit_id = a.id WHERE aa.user_id = $1 ORDER BY a.period_start",
    )
    .bind(user.id)
    .fetch_all(pool)
    .await?;
    Ok(Some(periods))
}

fn in_list(column: &str, ids: &HashSet<i64>) -> String {
    if ids.is_empty() {
        return "1 = 0".into();
    }
    let mut v: Vec<i64> = ids.iter().copied().collect();
    v.sort_unstable();
    let list = v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    format!("{column} IN ({list})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_conditions_name_exactly_the_covered_ids() {
        let r = Reach::Audits {
            frameworks: [3, 1].into_iter().collect(),
            controls: HashSet::new(),
            evidence: [7].into_iter().collect(),
        };
        assert_eq!(r.frameworks_sql("f.id"), "f.id IN (1, 3)");
        assert_eq!(r.controls_sql("c.id"), "1 = 0");
        assert_eq!(r.evidence_sql("e.id"), "e.id IN (7)");
        assert!(r.framework(3) && !r.framework(2) && !r.control(1) && r.evidence(7));
        assert_eq!(Reach::Everything.controls_sql("c.id"), "1 = 1");
        assert!(Reach::Everything.evidence(42));
    }
}
