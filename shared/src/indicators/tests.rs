//! The indicators on a dataset whose every figure is worked out by hand below.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::*;
use crate::store::{Store, StoreOptions};

use super::report::{Period, figures, median_days, merge, sums_by_month};
use super::tracker::Tracker;

const DAY: Millis = 86_400_000;

fn ms(date: &str) -> Millis {
    let d = parse_date(date).unwrap();
    d.midnight().assume_utc().unix_timestamp() * 1000
}

fn person(id: &str, admitted: &str) -> CaseFile {
    CaseFile {
        person_id: id.into(),
        prison_number: format!("N{id}"),
        given_name: "Given".into(),
        family_name: "Family".into(),
        holding_facility: "WHK".into(),
        admission_date: admitted.into(),
        ..CaseFile::default()
    }
}

fn enrol(
    c: &mut CaseFile,
    key: &str,
    run: &str,
    programme: &str,
    status: EnrolmentStatus,
    dates: (&str, Option<&str>),
    reason: Option<&str>,
) {
    c.enrolments.insert(
        key.into(),
        Enrolment {
            run_id: run.into(),
            programme_code: programme.into(),
            facility_id: "WHK".into(),
            status,
            start_date: Some(dates.0.into()),
            end_date: dates.1.map(Into::into),
            end_reason: reason.map(Into::into),
            certificate_awarded: false,
        },
    );
}

fn refer(c: &mut CaseFile, key: &str, events: &[(ReferralStatus, &str)]) {
    c.referrals.insert(
        key.into(),
        Referral {
            partner_id: "HOUSING-NGO".into(),
            service: "accommodation".into(),
            reason: "needs a home".into(),
            history: events
                .iter()
                .enumerate()
                .map(|(i, (to, at))| {
                    (
                        format!("e{i}"),
                        ReferralEvent {
                            to: *to,
                            by: "officer".into(),
                            at: ms(at),
                            note: String::new(),
                        },
                    )
                })
                .collect(),
            ..Referral::default()
        },
    );
}

fn run(
    id: &str,
    programme: &str,
    capacity: u32,
    dates: (&str, &str),
    allocated: &[&str],
) -> ProgrammeRun {
    ProgrammeRun {
        id: id.into(),
        facility_id: "WHK".into(),
        programme_code: programme.into(),
        instructor: "teacher".into(),
        place: "Room 1".into(),
        capacity,
        status: RunStatus::Running,
        schedule: Schedule {
            start_date: dates.0.into(),
            end_date: dates.1.into(),
            start_time: "09:00".into(),
            end_time: "11:00".into(),
            ..Schedule::default()
        },
        waiting_list: allocated
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    WaitingEntry {
                        person_id: p.to_string(),
                        status: WaitStatus::Allocated,
                        ..WaitingEntry::default()
                    },
                )
            })
            .collect(),
    }
}

fn mark(
    reg: &mut AttendanceRegister,
    session: &str,
    person: &str,
    outcome: MarkOutcome,
    reason: &str,
) {
    reg.marks.insert(
        AttendanceRegister::mark_key(session, person),
        Mark {
            session_id: session.into(),
            person_id: person.into(),
            outcome,
            reason: reason.into(),
            ..Mark::default()
        },
    );
}

fn session(date: &str, from: &str, to: &str, cancelled: bool) -> RegisterSession {
    RegisterSession {
        date: date.into(),
        start_time: from.into(),
        end_time: to.into(),
        cancelled,
        note: String::new(),
    }
}

fn register() -> AttendanceRegister {
    let mut reg = AttendanceRegister {
        facility_id: "WHK".into(),
        run_id: "R1".into(),
        month: "2026-11".into(),
        ..AttendanceRegister::default()
    };
    reg.sessions
        .insert("s1".into(), session("2026-11-03", "09:00", "11:00", false));
    reg.sessions
        .insert("s2".into(), session("2026-11-05", "09:00", "10:30", false));
    reg.sessions
        .insert("s3".into(), session("2026-11-10", "09:00", "11:00", true));
    mark(&mut reg, "s1", "WHK-1", MarkOutcome::Attended, "");
    mark(&mut reg, "s1", "WHK-2", MarkOutcome::AbsentUnexcused, "");
    mark(&mut reg, "s1", "WHK-5", MarkOutcome::Refused, "");
    mark(&mut reg, "s2", "WHK-1", MarkOutcome::Attended, "");
    mark(&mut reg, "s2", "WHK-2", MarkOutcome::AbsentExcused, "sick");
    // A cancelled session's marks count nowhere.
    mark(&mut reg, "s3", "WHK-1", MarkOutcome::Attended, "");
    reg
}

/// Five people at WHK (and one moved on to OMR), two runs, one register, four referrals, one
/// release.
fn dataset(store: &Store) {
    let now = ms("2026-12-20");
    // WHK-1: held all November (30 days); enrolled since 2 Nov, still active; an earlier
    // enrolment ended by their own choice on 3 Nov; one referral decided in 4 days.
    let mut p1 = person("WHK-1", "2026-10-01");
    enrol(
        &mut p1,
        "a",
        "R1",
        "LIT",
        EnrolmentStatus::Active,
        ("2026-11-02", None),
        None,
    );
    enrol(
        &mut p1,
        "b",
        "R2",
        "WELD",
        EnrolmentStatus::Withdrawn,
        ("2026-10-05", Some("2026-11-03")),
        Some("withdrawn_by_person"),
    );
    refer(
        &mut p1,
        "r1",
        &[
            (ReferralStatus::Requested, "2026-11-02"),
            (ReferralStatus::Accepted, "2026-11-06"),
            (ReferralStatus::InProgress, "2026-11-07"),
            (ReferralStatus::Completed, "2026-11-20"),
        ],
    );
    // WHK-2: admitted 11 Nov, released 21 Nov (10 days), accommodation and work arranged,
    // a settled home the first night; the enrolment ended by release counts nowhere in
    // completion; a referral declined in 2 days.
    let mut p2 = person("WHK-2", "2026-11-11");
    enrol(
        &mut p2,
        "a",
        "R1",
        "LIT",
        EnrolmentStatus::Withdrawn,
        ("2026-11-12", Some("2026-11-20")),
        Some("released"),
    );
    refer(
        &mut p2,
        "r1",
        &[
            (ReferralStatus::Requested, "2026-11-12"),
            (ReferralStatus::Declined, "2026-11-14"),
        ],
    );
    p2.release = Some(ReleaseRecord {
        on: "2026-11-21".into(),
        by: "officer".into(),
        at: ms("2026-11-21"),
        note: String::new(),
        first_night: "settled".into(),
        plan_on_the_day: [
            ("accommodation".to_owned(), PlanItemStatus::Done),
            ("employment".to_owned(), PlanItemStatus::Done),
            ("id_documents".to_owned(), PlanItemStatus::InProgress),
        ]
        .into_iter()
        .collect(),
    });
    // Six weeks on: in temporary accommodation, and working.
    p2.follow_up = Some(FollowUp {
        on: "2026-12-02".into(),
        by: "admin.national".into(),
        accommodation: "temporary".into(),
        ete: "yes".into(),
        ..FollowUp::default()
    });
    // Edited after the release: the figures keep the plan as it stood on the day.
    p2.release_plan.id_documents.status = PlanItemStatus::Done;
    // WHK-3: held from September, moved to OMR on 16 Nov (15 days at each); completed a
    // course on 10 Nov; a referral made in October.
    let mut p3 = person("WHK-3", "2026-09-01");
    p3.holding_facility = "OMR".into();
    p3.transfers.insert(
        "t1".into(),
        TransferRecord {
            from_facility: "WHK".into(),
            to_facility: "OMR".into(),
            at: ms("2026-11-15"),
            by: "officer".into(),
            reason: "closer to family".into(),
            moved_at: Some(ms("2026-11-16") + 3_600_000),
        },
    );
    enrol(
        &mut p3,
        "a",
        "R2",
        "WELD",
        EnrolmentStatus::Completed,
        ("2026-10-01", Some("2026-11-10")),
        Some("completed"),
    );
    refer(&mut p3, "r1", &[(ReferralStatus::Requested, "2026-10-20")]);
    // WHK-4: admitted in December: not in November's figures.
    let p4 = person("WHK-4", "2026-12-01");
    // WHK-5: held all November, on no programme; a referral accepted in 10 days.
    let mut p5 = person("WHK-5", "2026-06-01");
    refer(
        &mut p5,
        "r1",
        &[
            (ReferralStatus::Requested, "2026-11-03"),
            (ReferralStatus::Accepted, "2026-11-13"),
        ],
    );
    store.put_many(&[p1, p2, p3, p4, p5], now).unwrap();
    store
        .put_many(
            &[
                run(
                    "R1",
                    "LIT",
                    10,
                    ("2026-11-01", "2026-12-31"),
                    &["WHK-1", "WHK-2"],
                ),
                run("R2", "WELD", 5, ("2026-10-01", "2026-11-30"), &["WHK-3"]),
            ],
            now,
        )
        .unwrap();
    store.put(&register(), now).unwrap();
}

fn whk() -> BTreeSet<String> {
    ["WHK".to_owned()].into_iter().collect()
}

fn figure(t: &Tracker, facilities: &BTreeSet<String>, period: &str, code: &str) -> (f64, f64, i64) {
    let p = Period::parse(period).unwrap();
    let s = t.with(|tot| {
        merge(
            sums_by_month(
                tot,
                facilities,
                &p.months(),
                parse_date("2026-12-20").unwrap(),
            )
            .into_values(),
        )
    });
    let f = figures(&s.all)
        .into_iter()
        .find(|f| f.code == code)
        .unwrap();
    (f.numerator, f.denominator, f.people)
}

#[test]
fn every_formula_on_a_dataset_worked_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    dataset(&store);
    let t = Tracker::open(store.clone()).unwrap();
    assert!(t.catch_up().unwrap() >= 8);
    let nov = |code| figure(&t, &whk(), "2026-11", code);
    // Held in November: WHK-1 30 days, WHK-2 10, WHK-3 15, WHK-5 30: 4 people, 85 days.
    // Attended: s1 (120 min) and s2 (90 min) by WHK-1: 3.5 hours. 3.5 × 7 ÷ 85.
    assert_eq!(nov("activity_hours"), (3.5 * 7.0, 85.0, 4));
    // Engaged: WHK-1, WHK-2, WHK-3 (WHK-1 once, with two enrolments in the month).
    assert_eq!(nov("engagement"), (3.0, 4.0, 4));
    // Places: R1 2 of 10, R2 1 of 5.
    assert_eq!(nov("places_filled").0, 3.0);
    assert_eq!(nov("places_filled").1, 15.0);
    // Marks outside the cancelled session: 5; attended 2; refused 1 and absent without a
    // reason 1 (absent with "sick" is not unacceptable).
    assert_eq!(nov("attendance"), (2.0, 5.0, 3));
    assert_eq!(nov("unacceptable_absence").0, 2.0);
    // Ended by completion or choice in November: WHK-3 completed, WHK-1 withdrew (WHK-2's
    // ended by release and is left out).
    assert_eq!(nov("completion"), (1.0, 2.0, 2));
    // Referrals made in November: 3 (WHK-3's was October's); accepted 2; completed 1.
    assert_eq!(nov("referrals_accepted"), (2.0, 3.0, 3));
    assert_eq!(nov("referrals_completed").0, 1.0);
    // Released: WHK-2, with accommodation and work arranged on the day, and not their ID
    // documents (done only afterwards); a settled home the first night.
    assert_eq!(nov("release_accommodation"), (1.0, 1.0, 1));
    assert_eq!(nov("release_employment"), (1.0, 1.0, 1));
    assert_eq!(nov("release_id_documents"), (0.0, 1.0, 1));
    assert_eq!(nov("first_night_settled"), (1.0, 1.0, 1));
    assert_eq!(nov("followed_up"), (1.0, 1.0, 1));
    assert_eq!(nov("housed_6w"), (1.0, 1.0, 1));
    assert_eq!(nov("settled_6w"), (0.0, 1.0, 1));
    assert_eq!(nov("ete_6w"), (1.0, 1.0, 1));
    assert_eq!(t.released("WHK", "2026-11"), [("WHK-2".to_owned(), true)]);

    let p = Period::parse("2026-11").unwrap();
    let s = t.with(|tot| {
        merge(
            sums_by_month(tot, &whk(), &p.months(), parse_date("2026-12-20").unwrap())
                .into_values(),
        )
    });
    // Decisions took 4, 2 and 10 days: the median is 4.
    assert_eq!(median_days(&s.all.decision_days), Some(4));
    // The register's last session (10 Nov) closes its window 8 days on, at midnight (UTC).
    assert_eq!(s.window_closes, ms("2026-11-18"));
    // By programme: LIT marks and enrolments, WELD's completion.
    assert_eq!(s.by_programme["LIT"].marks, 5);
    assert_eq!(s.by_programme["WELD"].completed, 1);
    assert_eq!(s.by_programme["LIT"].enrolled, 2);

    // OMR: WHK-3 from 16 Nov, 15 days, still held.
    let omr: BTreeSet<String> = ["OMR".to_owned()].into_iter().collect();
    assert_eq!(figure(&t, &omr, "2026-11", "engagement").1, 1.0);
    assert_eq!(figure(&t, &omr, "2026-11", "activity_hours").1, 15.0);
    // December so far (to the 20th): WHK-1 and WHK-5 20 days each, WHK-4 from the 1st.
    assert_eq!(figure(&t, &whk(), "2026-12", "activity_hours").1, 60.0);
    // The nation is the sum of its facilities.
    let both: BTreeSet<String> = ["OMR".to_owned(), "WHK".to_owned()].into_iter().collect();
    assert_eq!(figure(&t, &both, "2026-11", "activity_hours").1, 100.0);
    // A quarter adds its months: October had WHK-1, WHK-3 and WHK-5 held all 31 days.
    assert_eq!(
        figure(&t, &whk(), "2026-Q4", "activity_hours").1,
        93.0 + 85.0 + 60.0
    );
}

#[test]
fn a_change_moves_only_its_counters_and_a_restart_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    dataset(&store);
    let t = Tracker::open(store.clone()).unwrap();
    t.catch_up().unwrap();
    let before = t.with(|tot| tot.by.clone());
    // WHK-2's excused absence on 5 Nov is corrected to attended.
    let mut reg = register();
    mark(&mut reg, "s2", "WHK-2", MarkOutcome::Attended, "");
    store.put(&reg, ms("2026-12-20") + DAY).unwrap();
    assert_eq!(t.catch_up().unwrap(), 1, "one document counted afresh");
    assert_eq!(figure(&t, &whk(), "2026-11", "attendance"), (3.0, 5.0, 3));
    assert_eq!(figure(&t, &whk(), "2026-11", "activity_hours").0, 5.0 * 7.0);
    let after: BTreeMap<_, _> = t.with(|tot| tot.by.clone());
    let moved: Vec<_> = after
        .iter()
        .filter(|(k, c)| before.get(*k) != Some(*c))
        .collect();
    assert_eq!(moved.len(), 1, "one key moved: {moved:?}");
    drop(t);
    // A restart sums the kept counters, without reading a document.
    let again = Tracker::open(store.clone()).unwrap();
    assert_eq!(again.with(|tot| tot.by.clone()), after);
    assert_eq!(again.catch_up().unwrap(), 0);
}

#[test]
fn periods_parse_and_name_their_months() {
    assert_eq!(
        Period::parse("2026-Q4").unwrap().months(),
        ["2026-10", "2026-11", "2026-12"]
    );
    assert_eq!(Period::parse("2026-02").unwrap().code(), "2026-02");
    assert!(Period::parse("2026-13").is_none());
    assert!(Period::parse("2026-Q5").is_none());
    assert!(Period::parse("nonsense").is_none());
    let trend = Period::parse("2026-03").unwrap().trend();
    assert_eq!(trend.len(), 12);
    assert_eq!(trend[0], "2025-04");
    assert_eq!(trend[11], "2026-03");
}

#[test]
fn catch_ups_at_once_count_each_change_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    dataset(&store);
    let t = std::sync::Arc::new(Tracker::open(store.clone()).unwrap());
    let both: Vec<_> = (0..4)
        .map(|_| {
            let t = t.clone();
            std::thread::spawn(move || t.catch_up().unwrap())
        })
        .collect();
    for h in both {
        h.join().unwrap();
    }
    assert_eq!(figure(&t, &whk(), "2026-11", "attendance"), (2.0, 5.0, 3));
    assert_eq!(figure(&t, &whk(), "2026-11", "activity_hours").1, 85.0);
}
