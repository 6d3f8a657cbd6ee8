//! Concurrent offline edits merge as staff expect. Each test edits two copies of a document on
//! two real stores, exchanges their changes both ways, and checks the merged result.

use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreOptions};

struct Pair {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    a: Store,
    b: Store,
}

impl Pair {
    fn new() -> Pair {
        let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = Store::open(dirs.0.path(), StoreOptions::default()).unwrap();
        let b = Store::open(dirs.1.path(), StoreOptions::default()).unwrap();
        Pair { _dirs: dirs, a, b }
    }

    /// Creates `value` on `a` and copies it to `b`, as the first sync would.
    fn shared<T: Aggregate>(value: &T) -> Pair {
        let p = Pair::new();
        p.a.put(value, 1).unwrap();
        p.sync(&value.doc_id());
        p
    }

    /// Exchanges every change of `id` both ways.
    fn sync(&self, id: &DocId) {
        for (from, to) in [(&self.a, &self.b), (&self.b, &self.a)] {
            if let Some((changes, meta)) = from
                .read(id, |d, m| (d.get_changes(&[]), m.clone()))
                .unwrap()
            {
                assert!(
                    to.apply_changes(id, &meta, changes)
                        .unwrap()
                        .missing
                        .is_empty()
                );
            }
        }
        let heads = |s: &Store| s.read(id, |d, _| d.get_heads()).unwrap();
        assert_eq!(heads(&self.a), heads(&self.b), "both copies converge");
    }

    fn edit<T: Aggregate>(store: &Store, id: &DocId, now: Millis, f: impl FnOnce(&mut T)) {
        store
            .update(id, now, |v: &mut T| {
                f(v);
                Ok::<_, ()>(())
            })
            .unwrap();
    }

    /// Edits the two copies apart, syncs, and returns both merged values (which must agree).
    fn merge<T: Aggregate + PartialEq + std::fmt::Debug>(
        &self,
        id: &DocId,
        fa: impl FnOnce(&mut T),
        fb: impl FnOnce(&mut T),
    ) -> T {
        Self::edit(&self.a, id, 10, fa);
        Self::edit(&self.b, id, 11, fb);
        self.sync(id);
        let (ma, mb) = (
            self.a.get::<T>(id).unwrap().unwrap(),
            self.b.get::<T>(id).unwrap().unwrap(),
        );
        assert_eq!(ma, mb);
        ma
    }
}

fn register() -> AttendanceRegister {
    let mut r = AttendanceRegister {
        facility_id: "WHK".into(),
        run_id: "run-1".into(),
        month: "2026-11".into(),
        ..Default::default()
    };
    r.sessions.insert(
        "s1".into(),
        RegisterSession {
            date: "2026-11-20".into(),
            start_time: "09:00".into(),
            end_time: "11:00".into(),
            cancelled: false,
            note: String::new(),
        },
    );
    r
}

fn case() -> CaseFile {
    CaseFile {
        person_id: "P1".into(),
        holding_facility: "WHK".into(),
        prison_number: "WHK-1".into(),
        ..Default::default()
    }
}

const DAY: Millis = 86_400_000;

fn ms(date: &str) -> Millis {
    parse_date(date)
        .unwrap()
        .midnight()
        .assume_utc()
        .unix_timestamp()
        * 1000
}

#[test]
fn two_marks_for_one_session_and_person_end_as_one_mark() {
    let reg = register();
    let p = Pair::shared(&reg);
    let now = ms("2026-11-20") + 10 * 3_600_000;
    let merged: AttendanceRegister = p.merge(
        &reg.doc_id(),
        |r: &mut AttendanceRegister| {
            r.mark("s1", "P7", MarkOutcome::Attended, "officer.a", now, 0)
                .unwrap()
        },
        |r: &mut AttendanceRegister| {
            r.mark(
                "s1",
                "P7",
                MarkOutcome::AbsentExcused,
                "teacher.b",
                now + 1,
                0,
            )
            .unwrap()
        },
    );
    assert_eq!(merged.marks.len(), 1);
    let mark = &merged.marks[&AttendanceRegister::mark_key("s1", "P7")];
    assert!([MarkOutcome::Attended, MarkOutcome::AbsentExcused].contains(&mark.outcome));
    // The mark is whole: outcome and marker come from the same writer.
    assert_eq!(
        mark.marked_by == "officer.a",
        mark.outcome == MarkOutcome::Attended
    );
    // Marks for other people at the same session both survive.
    let merged: AttendanceRegister = p.merge(
        &reg.doc_id(),
        |r: &mut AttendanceRegister| {
            r.mark("s1", "P8", MarkOutcome::Attended, "a", now, 0)
                .unwrap()
        },
        |r: &mut AttendanceRegister| {
            r.mark("s1", "P9", MarkOutcome::Refused, "b", now, 0)
                .unwrap()
        },
    );
    assert_eq!(merged.marks.len(), 3);
    assert!(merged.marks.values().all(|m| !m.late));
}

#[test]
fn a_mark_after_the_edit_window_is_kept_and_flagged() {
    let mut reg = register();
    let session_day = ms("2026-11-20");
    reg.mark(
        "s1",
        "P7",
        MarkOutcome::Attended,
        "a",
        session_day + 7 * DAY,
        0,
    )
    .unwrap();
    assert!(!reg.marks["s1/P7"].late);
    reg.mark(
        "s1",
        "P7",
        MarkOutcome::AbsentUnexcused,
        "a",
        session_day + 9 * DAY,
        0,
    )
    .unwrap();
    let m = &reg.marks["s1/P7"];
    assert!(m.late);
    assert_eq!(m.outcome, MarkOutcome::AbsentUnexcused);
    assert_eq!(
        reg.mark("s9", "P7", MarkOutcome::Attended, "a", session_day, 0),
        Err(MarkError::UnknownSession("s9".into()))
    );
}

#[test]
fn the_edit_window_closes_at_midnight_at_the_facility() {
    let mut reg = register();
    // s1 is on 2026-11-20. Its window closes 7 days after that day ends: at midnight between
    // the 27th and 28th, which in Bangkok (+07:00) is 17:00 UTC on the 27th.
    let closes_utc = ms("2026-11-20") + 8 * DAY;
    let bangkok = 7 * 60;
    let hour = 3_600_000;
    reg.mark(
        "s1",
        "P1",
        MarkOutcome::Attended,
        "a",
        closes_utc - 8 * hour,
        bangkok,
    )
    .unwrap();
    assert!(!reg.marks["s1/P1"].late, "16:00 UTC is 23:00 in Bangkok");
    reg.mark(
        "s1",
        "P2",
        MarkOutcome::Attended,
        "a",
        closes_utc - 6 * hour,
        bangkok,
    )
    .unwrap();
    assert!(
        reg.marks["s1/P2"].late,
        "18:00 UTC is 01:00 next day in Bangkok"
    );
    // Windhoek (+02:00) and UTC are still inside the window at 18:00 UTC.
    reg.mark(
        "s1",
        "P3",
        MarkOutcome::Attended,
        "a",
        closes_utc - 6 * hour,
        120,
    )
    .unwrap();
    assert!(!reg.marks["s1/P3"].late);
    reg.mark(
        "s1",
        "P4",
        MarkOutcome::Attended,
        "a",
        closes_utc - 6 * hour,
        0,
    )
    .unwrap();
    assert!(!reg.marks["s1/P4"].late);
}

#[test]
fn nobody_is_marked_before_the_day_or_at_a_cancelled_session() {
    let mut reg = register();
    let day = ms("2026-11-20");
    let bangkok = 7 * 60;
    // 17:30 UTC on the 19th is 00:30 on the 20th in Bangkok, but still the 19th in UTC.
    let before = day - 6 * 3_600_000 - 30 * 60_000;
    assert!(matches!(
        reg.mark("s1", "P1", MarkOutcome::Attended, "a", before, 0),
        Err(MarkError::NotYet { .. })
    ));
    reg.mark("s1", "P1", MarkOutcome::Attended, "a", before, bangkok)
        .unwrap();
    reg.sessions.get_mut("s1").unwrap().cancelled = true;
    let err = reg
        .mark("s1", "P2", MarkOutcome::Attended, "a", day + DAY, 0)
        .unwrap_err();
    assert!(matches!(err, MarkError::Cancelled { .. }), "{err}");
}

#[test]
fn a_cancelled_session_leaves_the_attendance_rate() {
    let mut reg = register();
    for (id, date) in [("s2", "2026-11-21"), ("s3", "2026-11-22")] {
        let mut s = reg.sessions["s1"].clone();
        s.date = date.into();
        reg.sessions.insert(id.into(), s);
    }
    let later = ms("2026-11-23");
    for (s, o) in [
        ("s1", MarkOutcome::Attended),
        ("s2", MarkOutcome::AbsentUnexcused),
        ("s3", MarkOutcome::Attended),
    ] {
        reg.mark(s, "P1", o, "a", later, 0).unwrap();
    }
    reg.mark("s1", "P2", MarkOutcome::Cancelled, "a", later, 0)
        .unwrap();
    let mut t = std::collections::BTreeMap::new();
    reg.tally(&mut t);
    assert_eq!(
        t["P1"],
        Tally {
            attended: 2,
            counted: 3
        }
    );
    assert_eq!(t["P1"].percent(), Some(66));
    assert!(!t.contains_key("P2"), "a mark of cancelled is not counted");
    // s2 is cancelled after its mark: it leaves the rate.
    reg.sessions.get_mut("s2").unwrap().cancelled = true;
    let mut t = std::collections::BTreeMap::new();
    reg.tally(&mut t);
    assert_eq!(
        t["P1"],
        Tally {
            attended: 2,
            counted: 2
        }
    );
    assert_eq!(t["P1"].percent(), Some(100));
}

#[test]
fn both_of_two_concurrent_case_notes_survive() {
    let c = case();
    let p = Pair::shared(&c);
    let note = |author: &str, text: &str| CaseNote {
        author: author.into(),
        at: 5,
        facility_id: "WHK".into(),
        text: text.into(),
        ..Default::default()
    };
    let merged: CaseFile = p.merge(
        &c.doc_id(),
        |c: &mut CaseFile| {
            c.notes
                .insert("n-a".into(), note("officer.a", "Attended induction."));
        },
        |c: &mut CaseFile| {
            c.notes
                .insert("n-b".into(), note("case.b", "Asked about housing."));
        },
    );
    let texts: Vec<_> = merged
        .notes_in_order()
        .iter()
        .map(|(_, n)| n.text.clone())
        .collect();
    assert_eq!(texts, ["Attended induction.", "Asked about housing."]);
}

#[test]
fn an_illegal_concurrent_referral_transition_is_kept_and_flagged() {
    let mut c = case();
    c.referrals.insert(
        "r1".into(),
        Referral::request(
            "ngo-1",
            "housing",
            "no address on release",
            false,
            "e0",
            "case.a",
            100,
        ),
    );
    let p = Pair::shared(&c);
    let merged: CaseFile = p.merge(
        &c.doc_id(),
        |c: &mut CaseFile| {
            let r = c.referrals.get_mut("r1").unwrap();
            r.advance(ReferralStatus::Accepted, "e-a1", "partner", 200, "")
                .unwrap();
            r.advance(ReferralStatus::InProgress, "e-a2", "partner", 300, "")
                .unwrap();
        },
        |c: &mut CaseFile| {
            let r = c.referrals.get_mut("r1").unwrap();
            r.advance(
                ReferralStatus::Declined,
                "e-b1",
                "partner.other",
                250,
                "no capacity",
            )
            .unwrap();
        },
    );
    let r = &merged.referrals["r1"];
    assert_eq!(r.history.len(), 4, "no event is lost");
    let state = r.state();
    assert_eq!(state.status, ReferralStatus::InProgress);
    assert_eq!(state.flagged, vec!["e-b1".to_owned()]);
    // Only legal moves can be made from the folded state.
    let mut r = r.clone();
    assert_eq!(
        r.advance(ReferralStatus::Declined, "e-x", "x", 400, ""),
        Err(IllegalTransition {
            from: ReferralStatus::InProgress,
            to: ReferralStatus::Declined
        })
    );
    r.advance(ReferralStatus::Completed, "e-y", "x", 400, "")
        .unwrap();
    assert_eq!(r.state().status, ReferralStatus::Completed);
}

#[test]
fn a_withdrawn_programme_stays_readable_by_the_runs_that_use_it() {
    let prog = Programme {
        code: "LIT-1".into(),
        title: "Adult literacy".into(),
        duration_weeks: 12,
        ..Default::default()
    };
    let p = Pair::shared(&prog);
    let run = ProgrammeRun {
        id: "run-1".into(),
        facility_id: "WHK".into(),
        programme_code: "LIT-1".into(),
        capacity: 12,
        ..Default::default()
    };
    // The hub withdraws the programme while the facility, offline, starts a run of it.
    Pair::edit(&p.a, &prog.doc_id(), 20, |p: &mut Programme| {
        p.withdrawn = true
    });
    p.b.put(&run, 21).unwrap();
    p.sync(&prog.doc_id());
    let run: ProgrammeRun = p.b.get(&run.doc_id()).unwrap().unwrap();
    let used: Programme =
        p.b.get(&programme_id(&run.programme_code))
            .unwrap()
            .unwrap();
    assert!(used.withdrawn);
    assert_eq!(used.title, "Adult literacy");
}

#[test]
fn concurrent_edits_to_different_fields_of_one_item_both_land() {
    let mut c = case();
    c.goals.insert(
        "g1".into(),
        PlanGoal {
            title: "Get ID".into(),
            domain: "finance_and_id".into(),
            ..Default::default()
        },
    );
    let p = Pair::shared(&c);
    let merged: CaseFile = p.merge(
        &c.doc_id(),
        |c: &mut CaseFile| c.goals.get_mut("g1").unwrap().status = GoalStatus::Completed,
        |c: &mut CaseFile| c.goals.get_mut("g1").unwrap().target_date = Some("2027-01-01".into()),
    );
    let g = &merged.goals["g1"];
    assert_eq!(
        (g.status, g.target_date.as_deref()),
        (GoalStatus::Completed, Some("2027-01-01"))
    );
}

#[test]
fn sensitive_data_is_marked_in_the_model() {
    let mut c = case();
    for d in NeedDomain::ALL {
        c.needs.insert(
            d.code().into(),
            NeedAssessment {
                level: NeedLevel::Medium,
                ..Default::default()
            },
        );
    }
    c.notes.insert(
        "h".into(),
        CaseNote {
            note_type: NoteType::Health,
            ..Default::default()
        },
    );
    c.notes.insert(
        "r".into(),
        CaseNote {
            restricted: true,
            ..Default::default()
        },
    );
    c.notes.insert("g".into(), CaseNote::default());
    c.release_plan.health_handover.details = "clinic booked".into();
    let mut officer = c.clone();
    officer.redact(Visibility::default(), &Default::default());
    assert_eq!(officer.needs.len(), 5);
    assert!(
        officer
            .needs
            .keys()
            .all(|k| !NeedDomain::from_code(k).unwrap().is_sensitive())
    );
    assert_eq!(officer.notes.keys().collect::<Vec<_>>(), ["g"]);
    assert_eq!(officer.release_plan.health_handover.details, "");
    let mut health = c.clone();
    health.redact(
        Visibility {
            health: true,
            restricted_notes: false,
        },
        &Default::default(),
    );
    assert_eq!((health.needs.len(), health.notes.len()), (8, 2));
}

#[test]
fn sets_merge_member_by_member_never_duplicating_or_losing_a_removal() {
    use std::collections::BTreeSet;
    // Roles: both sides add the same role and one removes another; the other adds a third.
    let account = StaffAccount {
        username: "t1".into(),
        facility_id: "WHK".into(),
        roles: [Role::Instructor, Role::PrisonOfficer].into(),
        ..Default::default()
    };
    let p = Pair::shared(&account);
    let merged: StaffAccount = p.merge(
        &account.doc_id(),
        |s: &mut StaffAccount| {
            s.roles.remove(&Role::PrisonOfficer);
            s.roles.insert(Role::CaseOfficer);
        },
        |s: &mut StaffAccount| {
            s.roles.insert(Role::CaseOfficer);
            s.roles.insert(Role::HealthStaff);
        },
    );
    assert_eq!(
        merged.roles,
        BTreeSet::from([Role::Instructor, Role::CaseOfficer, Role::HealthStaff])
    );

    // A run's days: one side drops Monday, the other adds Friday.
    let run = ProgrammeRun {
        id: "r1".into(),
        facility_id: "WHK".into(),
        schedule: Schedule {
            days: [Weekday::Mon, Weekday::Wed].into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let p = Pair::shared(&run);
    let merged: ProgrammeRun = p.merge(
        &run.doc_id(),
        |r: &mut ProgrammeRun| {
            r.schedule.days.remove(&Weekday::Mon);
        },
        |r: &mut ProgrammeRun| {
            r.schedule.days.insert(Weekday::Fri);
        },
    );
    assert_eq!(
        merged.schedule.days,
        BTreeSet::from([Weekday::Wed, Weekday::Fri])
    );

    // A partner's services: both remove one service, both add the same new one.
    let partner = Partner {
        id: "ngo-1".into(),
        services: ["mentoring".to_owned(), "housing".to_owned()].into(),
        ..Default::default()
    };
    let p = Pair::shared(&partner);
    let merged: Partner = p.merge(
        &partner.doc_id(),
        |x: &mut Partner| {
            x.services.remove("housing");
            x.services.insert("CV workshop".into());
        },
        |x: &mut Partner| {
            x.services.remove("housing");
            x.services.insert("CV workshop".into());
        },
    );
    assert_eq!(
        merged.services,
        BTreeSet::from(["CV workshop".to_owned(), "mentoring".to_owned()])
    );
}
