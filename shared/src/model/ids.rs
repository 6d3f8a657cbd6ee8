use std::fmt;

use serde::{Deserialize, Serialize};

/// What sort of aggregate a document holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Programme,
    Partner,
    Facility,
    ProgrammeRun,
    AttendanceRegister,
    StaffAccount,
    CaseFile,
    AuditLog,
    Revocations,
    Certificates,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Programme,
        Kind::Partner,
        Kind::Facility,
        Kind::ProgrammeRun,
        Kind::AttendanceRegister,
        Kind::StaffAccount,
        Kind::CaseFile,
        Kind::AuditLog,
        Kind::Revocations,
        Kind::Certificates,
    ];

    /// The kind's byte on the wire.
    pub fn as_u8(self) -> u8 {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    pub fn from_u8(b: u8) -> Option<Kind> {
        Kind::ALL.get(usize::from(b)).copied()
    }

    /// The kind whose [`Kind::as_str`] is `name`: the first part of a document id.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Documents of this kind are written at the hub and read-only to gateways.
    pub fn is_national(self) -> bool {
        matches!(
            self,
            Kind::Programme
                | Kind::Partner
                | Kind::Facility
                | Kind::Revocations
                | Kind::Certificates
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Programme => "programme",
            Kind::Partner => "partner",
            Kind::Facility => "facility",
            Kind::ProgrammeRun => "run",
            Kind::AttendanceRegister => "register",
            Kind::StaffAccount => "staff",
            Kind::CaseFile => "case",
            Kind::AuditLog => "audit",
            Kind::Revocations => "revoked",
            Kind::Certificates => "certs",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Sync priority of a change: each class is its own stream, and a higher class never waits
/// behind a lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Transfers, releases, revocations, safety referrals.
    Urgent = 0,
    /// Case files, attendance, staff, runs, the catalogue.
    Records = 1,
    /// Learning content, audit archives.
    Bulk = 2,
}

impl Class {
    pub const ALL: [Class; 3] = [Class::Urgent, Class::Records, Class::Bulk];

    pub fn from_u8(b: u8) -> Option<Class> {
        Class::ALL.get(usize::from(b)).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            Class::Urgent => "urgent",
            Class::Records => "records",
            Class::Bulk => "bulk",
        }
    }

    /// The class a change to a document of `kind` travels in unless its writer says otherwise.
    pub fn default_for(kind: Kind) -> Class {
        match kind {
            Kind::AuditLog => Class::Bulk,
            _ => Class::Records,
        }
    }
}

/// Who may write a document, and which nodes hold it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Written at the hub, read by every gateway.
    National,
    /// Written at one facility.
    Facility(String),
    /// A person's case file, held in the scope of the facility that holds the person. It moves
    /// with the person on transfer.
    Person { person: String, facility: String },
}

/// A scope string that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a scope: expected `national`, `facility:<id>` or `person:<id>@<facility>`")]
pub struct ScopeError(pub String);

impl Scope {
    /// The facility whose gateway holds documents of this scope; `None` for national documents.
    pub fn facility(&self) -> Option<&str> {
        match self {
            Scope::National => None,
            Scope::Facility(f) | Scope::Person { facility: f, .. } => Some(f),
        }
    }

    /// The partition a document is indexed under: `national` or `facility:<id>`. A case file is
    /// found under the facility that holds its person.
    pub fn partition(&self) -> String {
        match self.facility() {
            None => "national".to_owned(),
            Some(f) => format!("facility:{f}"),
        }
    }

    pub fn parse(s: &str) -> Result<Scope, ScopeError> {
        let err = || ScopeError(s.to_owned());
        if s == "national" {
            return Ok(Scope::National);
        }
        if let Some(f) = s.strip_prefix("facility:") {
            return DocId::check_part(f)
                .map(|()| Scope::Facility(f.to_owned()))
                .map_err(|_| err());
        }
        let rest = s.strip_prefix("person:").ok_or_else(err)?;
        let (person, facility) = rest.split_once('@').ok_or_else(err)?;
        DocId::check_part(person).map_err(|_| err())?;
        DocId::check_part(facility).map_err(|_| err())?;
        Ok(Scope::Person {
            person: person.to_owned(),
            facility: facility.to_owned(),
        })
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::National => f.write_str("national"),
            Scope::Facility(id) => write!(f, "facility:{id}"),
            Scope::Person { person, facility } => write!(f, "person:{person}@{facility}"),
        }
    }
}

/// A document's stable id, `<kind>/<part>[/<part>…]`, for example `case/NA-0001` or
/// `register/WHK/run-12/2026-11`. Ids are logged; they never carry case content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocId(String);

/// A document id that is not well formed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocIdError {
    /// Longer than [`DocId::MAX_LEN`] bytes.
    #[error("document id is {0} bytes; at most 160 are allowed")]
    TooLong(usize),
    /// Empty, or a part is empty.
    #[error("document id `{0}` has an empty part")]
    Empty(String),
    /// A character outside `A-Z a-z 0-9 - _ . :`.
    #[error("document id `{0}` has a character outside A-Z, a-z, 0-9, `-`, `_`, `.`, `:`")]
    BadChar(String),
}

impl DocId {
    pub const MAX_LEN: usize = 160;

    /// Builds an id from its kind and parts; each part is checked.
    pub fn new(kind: Kind, parts: &[&str]) -> Result<DocId, DocIdError> {
        let mut s = kind.as_str().to_owned();
        for p in parts {
            s.push('/');
            s.push_str(p);
        }
        DocId::parse(&s)
    }

    pub fn parse(s: &str) -> Result<DocId, DocIdError> {
        if s.len() > Self::MAX_LEN {
            return Err(DocIdError::TooLong(s.len()));
        }
        for part in s.split('/') {
            Self::check_part(part).map_err(|e| match e {
                DocIdError::Empty(_) => DocIdError::Empty(s.to_owned()),
                _ => DocIdError::BadChar(s.to_owned()),
            })?;
        }
        Ok(DocId(s.to_owned()))
    }

    fn check_part(part: &str) -> Result<(), DocIdError> {
        if part.is_empty() {
            return Err(DocIdError::Empty(part.to_owned()));
        }
        if !part
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(DocIdError::BadChar(part.to_owned()));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id's parts: its kind's name first (`case`, `WHK-000001`).
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The kind the id names, if its first part is a kind's name.
    pub fn kind(&self) -> Option<Kind> {
        self.parts().next().and_then(Kind::from_name)
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_scopes_parse_and_reject() {
        assert_eq!(
            DocId::new(Kind::CaseFile, &["NA-1"]).unwrap().as_str(),
            "case/NA-1"
        );
        assert!(matches!(DocId::parse("case//x"), Err(DocIdError::Empty(_))));
        assert!(matches!(
            DocId::parse("case/a b"),
            Err(DocIdError::BadChar(_))
        ));
        assert!(matches!(
            DocId::parse(&"x".repeat(200)),
            Err(DocIdError::TooLong(200))
        ));
        for s in ["national", "facility:WHK", "person:P1@WHK"] {
            assert_eq!(Scope::parse(s).unwrap().to_string(), s);
        }
        assert!(Scope::parse("person:P1").is_err());
        assert!(Scope::parse("facility:").is_err());
        let p = Scope::parse("person:P1@WHK").unwrap();
        assert_eq!(p.partition(), "facility:WHK");
    }
}
