//! The request list's rules (PBC: "provided by client"): who may move a request where.
//!
//! `open → submitted → accepted | returned`, and `returned → submitted` again. The organisation
//! (compliance officers, administrators) attaches evidence and submits; the audit's auditors
//! accept or return (returning needs a reason). Nothing moves once the audit is closed.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Submitted,
    Accepted,
    Returned,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Open,
        Status::Submitted,
        Status::Accepted,
        Status::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Submitted => "submitted",
            Status::Accepted => "accepted",
            Status::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Waiting on the organisation: counts as overdue after its due date.
    pub fn awaits_answer(self) -> bool {
        matches!(self, Status::Open | Status::Returned)
    }
}

/// Which side of the audit someone is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// Compliance officers and administrators: answer requests.
    Organisation,
    /// An auditor assigned to the audit: raise, sample, accept, return.
    Auditor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Move {
    Submit,
    Accept,
    Return,
}

impl Move {
    pub fn parse(s: &str) -> Option<Move> {
        match s {
            "submit" => Some(Move::Submit),
            "accept" => Some(Move::Accept),
            "return" => Some(Move::Return),
            _ => None,
        }
    }
}

/// The status after `m`, or why it is not allowed.
pub fn apply(
    from: Status,
    m: Move,
    side: Side,
    note: &str,
    has_evidence: bool,
) -> Result<Status, String> {
    use Status::*;
    match (m, side) {
        (Move::Submit, Side::Organisation) => match from {
            Open | Returned if has_evidence || !note.trim().is_empty() => Ok(Submitted),
            Open | Returned => Err("Attach evidence or write a note before submitting.".into()),
            _ => Err(format!("A {} request cannot be submitted.", from.as_str())),
        },
        (Move::Accept, Side::Auditor) => match from {
            Submitted => Ok(Accepted),
            _ => Err(format!(
                "Only a submitted request can be accepted (this one is {}).",
                from.as_str()
            )),
        },
        (Move::Return, Side::Auditor) => match from {
            Submitted if note.trim().is_empty() => Err("Say why the request is returned.".into()),
            Submitted => Ok(Returned),
            _ => Err(format!(
                "Only a submitted request can be returned (this one is {}).",
                from.as_str()
            )),
        },
        (Move::Submit, Side::Auditor) => {
            Err("The organisation submits answers; auditors accept or return them.".into())
        }
        (_, Side::Organisation) => {
            Err("Only the audit's auditors accept or return answers.".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::*;

    #[test]
    fn the_request_life_cycle() {
        let org = Side::Organisation;
        let aud = Side::Auditor;
        assert_eq!(apply(Open, Move::Submit, org, "", true), Ok(Submitted));
        assert!(apply(Open, Move::Submit, org, " ", false).is_err());
        assert_eq!(
            apply(Open, Move::Submit, org, "Not applicable: no change", false),
            Ok(Submitted)
        );
        assert_eq!(apply(Submitted, Move::Accept, aud, "", true), Ok(Accepted));
        assert!(apply(Submitted, Move::Return, aud, "", true).is_err());
        assert_eq!(
            apply(Submitted, Move::Return, aud, "Wrong quarter", true),
            Ok(Returned)
        );
        assert_eq!(apply(Returned, Move::Submit, org, "", true), Ok(Submitted));
        assert!(apply(Accepted, Move::Submit, org, "x", true).is_err());
        assert!(apply(Submitted, Move::Accept, org, "", true).is_err());
        assert!(apply(Open, Move::Submit, aud, "x", true).is_err());
        assert!(apply(Open, Move::Accept, aud, "", true).is_err());
    }
}
