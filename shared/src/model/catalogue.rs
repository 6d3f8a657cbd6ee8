//! National documents: written at the hub, read by every gateway.

use std::collections::BTreeSet;

use autosurgeon::{Hydrate, Reconcile};

use super::{Aggregate, DocId, Kind, Scope, set};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all(deserialize = "snake_case"))]
pub enum ProgrammeCategory {
    #[default]
    Education,
    Vocational,
    Work,
    AccreditedBehavioural,
    MentalHealth,
    SubstanceUse,
    Family,
    Faith,
}

impl ProgrammeCategory {
    /// Whether taking part is health content (readable only by health staff).
    pub fn is_health(self) -> bool {
        matches!(
            self,
            ProgrammeCategory::MentalHealth | ProgrammeCategory::SubstanceUse
        )
    }
}

/// A programme in the national catalogue. Never deleted: a withdrawn programme stays readable by
/// the runs and enrolments that name it.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Programme {
    pub code: String,
    pub title: String,
    pub category: ProgrammeCategory,
    pub description: String,
    pub duration_weeks: u32,
    pub sessions_per_week: u32,
    /// The certificate or accreditation a participant earns, if any.
    pub certificate: Option<String>,
    pub accrediting_body: Option<String>,
    pub eligibility_notes: String,
    pub withdrawn: bool,
    /// The title and description in Thai, where given; pages in Thai show them, else the
    /// English.
    #[autosurgeon(missing = "Default::default")]
    pub title_th: String,
    #[autosurgeon(missing = "Default::default")]
    pub description_th: String,
}

impl Aggregate for Programme {
    const KIND: Kind = Kind::Programme;
    fn doc_id(&self) -> DocId {
        programme_id(&self.code)
    }
    fn scope(&self) -> Scope {
        Scope::National
    }
}

pub fn programme_id(code: &str) -> DocId {
    id(Kind::Programme, &[code])
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all(deserialize = "snake_case"))]
pub enum PartnerKind {
    #[default]
    Ngo,
    Employer,
    HousingProvider,
    Clinic,
}

/// An organisation people are referred to: NGOs, cooperative employers, housing providers, clinics.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub kind: PartnerKind,
    /// Services offered, in the words of the referral form ("emergency housing", "CV workshop").
    #[autosurgeon(with = "set")]
    pub services: BTreeSet<String>,
    pub region: String,
    pub contact: String,
    pub active: bool,
}

impl Aggregate for Partner {
    const KIND: Kind = Kind::Partner;
    fn doc_id(&self) -> DocId {
        partner_id(&self.id)
    }
    fn scope(&self) -> Scope {
        Scope::National
    }
}

pub fn partner_id(partner: &str) -> DocId {
    id(Kind::Partner, &[partner])
}

/// A prison in the national registry.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub region: String,
    pub country: String,
    pub capacity: u32,
    /// The name in Thai, where it has one; pages in Thai show it, else `name`.
    #[autosurgeon(missing = "Default::default")]
    pub name_th: String,
    /// The facility's IANA time zone ("Africa/Windhoek", "Asia/Bangkok"); empty: not set yet.
    #[autosurgeon(missing = "Default::default")]
    pub time_zone: String,
    /// Hours its gateway may go without being level with the hub before operators are alerted;
    /// 0: the national default (24). A site whose link opens once a week says 168.
    #[autosurgeon(missing = "Default::default")]
    pub stale_after_hours: u32,
}

/// How far `zone` is from UTC at `at` (ms since the epoch), in minutes.
pub fn offset_minutes(zone: &jiff::tz::TimeZone, at: super::Millis) -> i32 {
    jiff::Timestamp::from_millisecond(at)
        .map(|t| zone.to_offset(t).seconds() / 60)
        .unwrap_or(0)
}

/// Whether `name` is an IANA time zone ("Asia/Bangkok").
pub fn time_zone_known(name: &str) -> bool {
    !name.is_empty() && jiff::tz::TimeZone::get(name).is_ok()
}

/// Every IANA time zone name the built-in database knows, sorted.
pub fn time_zone_names() -> Vec<String> {
    let mut all: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    all.sort();
    all
}

/// The registry entry of facility `facility`.
pub fn facility_id(facility: &str) -> DocId {
    id(Kind::Facility, &[facility])
}

impl Aggregate for Facility {
    const KIND: Kind = Kind::Facility;
    fn doc_id(&self) -> DocId {
        facility_id(&self.id)
    }
    fn scope(&self) -> Scope {
        Scope::National
    }
}

/// The national list of revoked gateways: a revoked gateway is refused at every hub from the
/// revocation on, and the list reaches every gateway. Entries are never removed (a gateway is
/// enrolled again under a new id).
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct RevocationList {
    /// Keyed by gateway id.
    pub revoked: std::collections::BTreeMap<String, Revocation>,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Revocation {
    pub at: super::Millis,
    pub by: String,
    pub reason: String,
}

/// The one national revocation list.
pub fn revocations_id() -> DocId {
    id(Kind::Revocations, &["national"])
}

impl Aggregate for RevocationList {
    const KIND: Kind = Kind::Revocations;
    fn doc_id(&self) -> DocId {
        revocations_id()
    }
    fn scope(&self) -> Scope {
        Scope::National
    }
}

/// Renewed gateway certificates, issued by the national CA and sent through the hub: each
/// gateway takes its own and installs it (it matches the key the gateway already holds), so a
/// certificate is renewed over the link, with no new bundle. Certificates are public.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct CertificateList {
    /// Keyed by gateway id: the newest certificate sent.
    pub issued: std::collections::BTreeMap<String, IssuedCertificate>,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct IssuedCertificate {
    pub cert_pem: String,
    pub at: super::Millis,
    pub by: String,
}

/// The one national list of renewed certificates.
pub fn certificates_id() -> DocId {
    id(Kind::Certificates, &["national"])
}

impl Aggregate for CertificateList {
    const KIND: Kind = Kind::Certificates;
    fn doc_id(&self) -> DocId {
        certificates_id()
    }
    fn scope(&self) -> Scope {
        Scope::National
    }
}

/// Builds a document id from parts that are already validated by their owners. A part that is
/// not well formed is replaced by a stable escape so the id stays valid and distinct.
pub(super) fn id(kind: Kind, parts: &[&str]) -> DocId {
    let safe: Vec<String> = parts
        .iter()
        .map(|p| {
            if !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            {
                (*p).to_owned()
            } else {
                format!("x{}", hex::encode(p))
            }
        })
        .collect();
    let refs: Vec<&str> = safe.iter().map(String::as_str).collect();
    DocId::new(kind, &refs).unwrap_or_else(|_| {
        // Only length can still fail; fall back to a hash-like digest of the parts.
        let digest = parts.iter().fold(0xcbf29ce484222325u64, |h, p| {
            p.bytes()
                .fold(h, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
        });
        DocId::new(kind, &[&format!("h{digest:016x}")]).expect("a short hex id is valid")
    })
}
