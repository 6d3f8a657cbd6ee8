//! What a peer may write: the check every incoming document passes before anything of it is
//! applied. A pure function of the frame's claims, the node's own metadata for the document
//! and the side this node is on, so a table of cases tests it.
//!
//! At the hub, a gateway's claims are never taken: the scope of a document comes from its id
//! and kind (or from what the hub already holds), never from the frame.

use automerge::{Automerge, Change};

use super::Side;
use crate::model::{DocId, Kind, Scope, StaffAccount};
use crate::store::DocMeta;

/// An incoming document that may be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub id: DocId,
    /// What to store it under.
    pub meta: DocMeta,
    /// A case file edited at the facility it moved away from: merged, and flagged for review.
    pub after_move: bool,
}

/// Checks one incoming document. `existing` is what this node holds for it; `moved_from(f)`
/// says whether the case file was transferred out of facility `f`. The error is the reason
/// given to the peer.
pub fn authorize(
    side: &Side,
    doc: &str,
    kind: u8,
    scope: &str,
    existing: Option<&DocMeta>,
    moved_from: impl FnOnce(&str) -> bool,
) -> Result<Verdict, String> {
    let id = DocId::parse(doc).map_err(|e| e.to_string())?;
    let kind = Kind::from_u8(kind).ok_or_else(|| format!("unknown document kind {kind}"))?;
    if id.kind() != Some(kind) {
        return Err(format!("{id} is not the id of a {kind}"));
    }
    let declared = Scope::parse(scope).map_err(|e| e.to_string())?;
    if let Some(m) = existing
        && m.kind != kind
    {
        return Err(format!("{id} is a {}, not a {kind}", m.kind));
    }
    let Side::Hub { facility } = side else {
        // From the hub: it decides scopes, and moves documents between them.
        let meta = existing.cloned().unwrap_or(DocMeta {
            kind,
            scope: declared,
        });
        return Ok(Verdict {
            id,
            meta,
            after_move: false,
        });
    };
    if kind.is_national() {
        return Err(format!("{id} is national and read-only to gateways"));
    }
    if let Some(meta) = existing {
        let meta = meta.clone();
        if meta.scope.facility() == Some(facility.as_str()) {
            return Ok(Verdict {
                id,
                meta,
                after_move: false,
            });
        }
        if kind == Kind::CaseFile && moved_from(facility) {
            return Ok(Verdict {
                id,
                meta,
                after_move: true,
            });
        }
        return Err(format!(
            "{id} is in scope {}; facility {facility} may write only its own documents",
            meta.scope
        ));
    }
    // A new document: its scope follows from its id and the gateway that creates it.
    let scope = new_scope(&id, kind, facility)?;
    if declared != scope {
        return Err(format!(
            "{id} belongs in scope {scope}, not {declared} as the frame says"
        ));
    }
    Ok(Verdict {
        id,
        meta: DocMeta { kind, scope },
        after_move: false,
    })
}

/// The scope a document new to the hub takes when the gateway of `facility` creates it, or why
/// that gateway may not create it. Facility documents name their facility in their id
/// (`run/WHK/…`); a person's id starts with the facility that first admitted them
/// (`WHK-000123`), so one facility cannot claim another's people.
fn new_scope(id: &DocId, kind: Kind, facility: &str) -> Result<Scope, String> {
    let owner = id.parts().nth(1).unwrap_or_default();
    if kind == Kind::CaseFile {
        let tied = owner
            .strip_prefix(facility)
            .is_some_and(|rest| rest.starts_with('-'));
        if !tied {
            return Err(format!(
                "{id} names a person not admitted at {facility}: a new case file's person id \
                 starts with the facility that opens it ({facility}-…)"
            ));
        }
        return Ok(Scope::Person {
            person: owner.to_owned(),
            facility: facility.to_owned(),
        });
    }
    if owner != facility {
        return Err(format!(
            "{id} belongs to facility {owner}; facility {facility} may write only its own documents"
        ));
    }
    Ok(Scope::Facility(facility.to_owned()))
}

/// At the hub, a staff account's roles and its disabled flag are the hub's to set: a gateway's
/// changes that alter them in an account the hub holds are refused. `current` is the hub's
/// copy. Other fields (a password the staff member changed, training) are the gateway's. An
/// account the hub holds only as its genesis is still arriving (a first copy sent in pieces):
/// the change that creates it sets its roles.
pub fn check_staff_authority(current: &Automerge, changes: &[Change]) -> Result<(), String> {
    if current.get_changes(&[]).len() <= 1 {
        return Ok(());
    }
    let before: StaffAccount = autosurgeon::hydrate(current).map_err(|e| e.to_string())?;
    let mut after = current.fork();
    after
        .apply_changes(changes.iter().cloned())
        .map_err(|e| format!("changes do not apply: {e}"))?;
    let after: StaffAccount = autosurgeon::hydrate(&after).map_err(|e| e.to_string())?;
    if after.roles != before.roles {
        return Err(format!(
            "staff account {}: roles are set at the hub, not by a gateway",
            before.username
        ));
    }
    if after.disabled != before.disabled {
        return Err(format!(
            "staff account {}: only the hub disables or enables an account",
            before.username
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: Kind, scope: &str) -> DocMeta {
        DocMeta {
            kind,
            scope: Scope::parse(scope).unwrap(),
        }
    }

    /// A frame's claim (document, kind, scope), what the node holds, whether the case file moved
    /// away from the sender, and the expected outcome.
    type Row<'a> = ((&'a str, Kind, &'a str), Option<DocMeta>, bool, &'a str);

    /// One row: who receives, what the frame claims, what the node holds, whether the case file
    /// moved away from the sender; and the outcome, as the stored scope (`+review` when flagged)
    /// or the start of the refusal.
    fn check(
        side: &Side,
        (doc, kind, scope): (&str, Kind, &str),
        existing: Option<DocMeta>,
        moved: bool,
        expect: &str,
    ) {
        let got = match authorize(side, doc, kind.as_u8(), scope, existing.as_ref(), |_| moved) {
            Ok(v) => format!(
                "{}{}",
                v.meta.scope,
                if v.after_move { " +review" } else { "" }
            ),
            Err(e) => format!("refused: {e}"),
        };
        assert!(
            got.starts_with(expect),
            "{doc} ({kind}, {scope}): expected `{expect}`, got `{got}`"
        );
    }

    #[test]
    fn the_hub_derives_scopes_and_refuses_what_a_gateway_may_not_write() {
        let whk = Side::Hub {
            facility: "WHK".into(),
        };
        use Kind::*;
        let rows: &[Row<'_>] = &[
            // A gateway's own documents.
            (
                ("run/WHK/r1", ProgrammeRun, "facility:WHK"),
                None,
                false,
                "facility:WHK",
            ),
            (
                (
                    "register/WHK/r1/2026-11",
                    AttendanceRegister,
                    "facility:WHK",
                ),
                None,
                false,
                "facility:WHK",
            ),
            (
                ("staff/WHK/t1", StaffAccount, "facility:WHK"),
                None,
                false,
                "facility:WHK",
            ),
            (
                ("audit/WHK/000000000", AuditLog, "facility:WHK"),
                None,
                false,
                "facility:WHK",
            ),
            (
                ("case/WHK-000001", CaseFile, "person:WHK-000001@WHK"),
                None,
                false,
                "person:WHK-000001@WHK",
            ),
            // National kinds, whatever scope the frame declares.
            (
                ("programme/P1", Programme, "facility:WHK"),
                None,
                false,
                "refused: programme/P1 is national",
            ),
            (
                ("partner/N1", Partner, "national"),
                None,
                false,
                "refused: partner/N1 is national",
            ),
            (
                ("facility/WHK", Facility, "facility:WHK"),
                None,
                false,
                "refused: facility/WHK is national",
            ),
            // A kind that disagrees with the id.
            (
                ("programme/P1", ProgrammeRun, "facility:WHK"),
                None,
                false,
                "refused: programme/P1 is not the id of a run",
            ),
            (
                ("run/WHK/r1", CaseFile, "person:x@WHK"),
                None,
                false,
                "refused: run/WHK/r1 is not the id of a case",
            ),
            // Another facility's documents, new to the hub.
            (
                ("run/OSH/r1", ProgrammeRun, "facility:WHK"),
                None,
                false,
                "refused: run/OSH/r1 belongs to facility OSH",
            ),
            (
                ("case/OSH-000001", CaseFile, "person:OSH-000001@WHK"),
                None,
                false,
                "refused: case/OSH-000001 names a person not admitted at WHK",
            ),
            (
                ("case/WHKX-000001", CaseFile, "person:WHKX-000001@WHK"),
                None,
                false,
                "refused: case/WHKX-000001 names a person",
            ),
            // A declared scope that disagrees with the id.
            (
                ("run/WHK/r1", ProgrammeRun, "national"),
                None,
                false,
                "refused: run/WHK/r1 belongs in scope facility:WHK",
            ),
            (
                ("case/WHK-000001", CaseFile, "person:WHK-000002@WHK"),
                None,
                false,
                "refused: case/WHK-000001 belongs in scope",
            ),
            // What the hub holds decides, not the frame.
            (
                ("case/OSH-000009", CaseFile, "person:OSH-000009@WHK"),
                Some(meta(CaseFile, "person:OSH-000009@WHK")),
                false,
                "person:OSH-000009@WHK",
            ),
            (
                ("case/WHK-000001", CaseFile, "person:WHK-000001@WHK"),
                Some(meta(CaseFile, "person:WHK-000001@OSH")),
                false,
                "refused: case/WHK-000001 is in scope person:WHK-000001@OSH",
            ),
            (
                ("case/WHK-000001", CaseFile, "person:WHK-000001@WHK"),
                Some(meta(CaseFile, "person:WHK-000001@OSH")),
                true,
                "person:WHK-000001@OSH +review",
            ),
            (
                ("run/WHK/r1", ProgrammeRun, "facility:WHK"),
                Some(meta(CaseFile, "facility:WHK")),
                false,
                "refused: run/WHK/r1 is a case",
            ),
            // Malformed claims.
            (
                ("case/a b", CaseFile, "person:a@WHK"),
                None,
                false,
                "refused: document id",
            ),
            (
                ("run/WHK/r1", ProgrammeRun, "facility:"),
                None,
                false,
                "refused: `facility:` is not a scope",
            ),
        ];
        for (claim, existing, moved, expect) in rows {
            check(&whk, *claim, existing.clone(), *moved, expect);
        }
        assert!(
            authorize(&whk, "run/WHK/r1", 200, "facility:WHK", None, |_| false)
                .unwrap_err()
                .contains("unknown document kind 200")
        );
    }

    #[test]
    fn a_gateway_takes_the_hubs_scopes() {
        let gw = Side::Gateway;
        check(
            &gw,
            ("programme/P1", Kind::Programme, "national"),
            None,
            false,
            "national",
        );
        check(
            &gw,
            ("case/OSH-000001", Kind::CaseFile, "person:OSH-000001@WHK"),
            None,
            false,
            "person:OSH-000001@WHK",
        );
        check(
            &gw,
            ("programme/P1", Kind::ProgrammeRun, "national"),
            None,
            false,
            "refused: programme/P1 is not the id of a run",
        );
    }
}
