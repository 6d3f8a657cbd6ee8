//! A seeded, deterministic sample facility: the national catalogue it uses, its runs, staff,
//! attendance registers and case files. The same seed and config give the same data, byte for
//! byte, on every machine.

use std::collections::BTreeMap;

use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreError};
use time::{Date, Duration, Month};

mod catalogue;
pub use catalogue::Country;
use catalogue::{DAYS, PARTNERS, PROGRAMME_TITLES_TH, PROGRAMMES};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SampleConfig {
    pub seed: u64,
    pub facility_id: String,
    pub facility_name: String,
    /// The facility's name in Thai, if it has one.
    pub facility_name_th: String,
    /// Where it is: the names, languages and time zone of its people.
    pub country: Country,
    pub cases: usize,
    pub marks: usize,
    /// The day the data is "as of": sessions are generated up to the day before.
    pub today: Date,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            seed: 1,
            facility_id: "WHK".into(),
            facility_name: "Windhoek Correctional Facility".into(),
            facility_name_th: String::new(),
            country: Country::Namibia,
            cases: 2_000,
            marks: 20_000,
            today: Date::from_calendar_date(2026, Month::November, 23).unwrap_or(Date::MIN),
        }
    }
}

/// A generated facility.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleFacility {
    pub facility: Facility,
    pub programmes: Vec<Programme>,
    pub partners: Vec<Partner>,
    pub staff: Vec<StaffAccount>,
    pub runs: Vec<ProgrammeRun>,
    pub registers: Vec<AttendanceRegister>,
    pub cases: Vec<CaseFile>,
}

use pathway_shared::model::{iso_date as iso, month_of as month_key};

fn ms(d: Date) -> Millis {
    d.midnight().assume_utc().unix_timestamp() * 1000
}

impl SampleFacility {
    pub fn generate(cfg: &SampleConfig) -> SampleFacility {
        let mut rng = fastrand::Rng::with_seed(cfg.seed);
        let fac = cfg.facility_id.clone();
        let today = cfg.today;
        let land = cfg.country;
        let (region, country, zone) = land.place();
        let (given, family, languages) = (land.given(), land.family(), land.languages());
        let facility = Facility {
            id: fac.clone(),
            name: cfg.facility_name.clone(),
            region: region.into(),
            country: country.into(),
            capacity: (cfg.cases as u32).max(100) * 11 / 10,
            name_th: cfg.facility_name_th.clone(),
            time_zone: zone.into(),
            stale_after_hours: 0,
        };
        let programmes: Vec<Programme> = PROGRAMMES
            .iter()
            .map(|&(code, title, category, weeks, cert)| Programme {
                code: code.into(),
                title: title.into(),
                category,
                description: format!("{title}: delivered in groups of up to 15."),
                duration_weeks: weeks,
                sessions_per_week: 2 + (weeks % 3),
                certificate: cert.map(Into::into),
                accrediting_body: cert.map(|_| "National Training Authority".into()),
                eligibility_notes: "At least 3 months left to serve.".into(),
                withdrawn: code == "AMP-1",
                title_th: PROGRAMME_TITLES_TH
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map_or_else(String::new, |(_, t)| (*t).to_owned()),
                description_th: String::new(),
            })
            .collect();
        let partners: Vec<Partner> = PARTNERS
            .iter()
            .map(|&(id, name, kind, services)| Partner {
                id: id.into(),
                name: name.into(),
                kind,
                services: services.iter().map(|s| (*s).into()).collect(),
                region: "Khomas".into(),
                contact: format!("referrals@{id}.example"),
                active: true,
            })
            .collect();

        let role_plan: &[(Role, usize)] = &[
            (Role::PrisonOfficer, 14),
            (Role::Instructor, 12),
            (Role::CaseOfficer, 8),
            (Role::RecordsOfficer, 2),
            (Role::HealthStaff, 4),
            (Role::FacilityManager, 2),
            (Role::FacilityIt, 2),
        ];
        let password_hash = demo_password_hash(cfg.seed);
        let mut staff = Vec::new();
        for &(role, n) in role_plan {
            for i in 0..n {
                let (stem, given) = given[rng.usize(..given.len())];
                let family = family[rng.usize(..family.len())];
                let mut training = BTreeMap::new();
                training.insert(
                    "data-protection".into(),
                    TrainingRecord {
                        module: "data-protection".into(),
                        completed_on: Some(iso(today - Duration::days(rng.i64(30..400)))),
                    },
                );
                staff.push(StaffAccount {
                    username: format!("{}.{}{}", format!("{role:?}").to_lowercase(), stem, i + 1),
                    facility_id: fac.clone(),
                    display_name: format!("{given} {family}"),
                    roles: [role].into(),
                    password_hash: password_hash.clone(),
                    disabled: false,
                    must_change_password: false,
                    training,
                });
            }
        }
        let instructors: Vec<String> = staff
            .iter()
            .filter(|s| s.roles.contains(&Role::Instructor))
            .map(|s| s.username.clone())
            .collect();
        let records = &staff
            .iter()
            .find(|s| s.roles.contains(&Role::RecordsOfficer))
            .map(|s| s.username.clone())
            .unwrap_or_default();
        let officers: Vec<String> = staff
            .iter()
            .filter(|s| s.roles.contains(&Role::CaseOfficer))
            .map(|s| s.username.clone())
            .collect();

        // Runs: every programme runs once or twice; about 30 in all.
        let mut runs = Vec::new();
        for (i, p) in programmes.iter().enumerate() {
            for j in 0..(1 + usize::from(i % 2 == 0)) {
                let start = today - Duration::weeks(rng.i64(20..60));
                runs.push(ProgrammeRun {
                    id: format!("run-{:03}", runs.len() + 1),
                    facility_id: fac.clone(),
                    programme_code: p.code.clone(),
                    instructor: instructors[(i + j) % instructors.len()].clone(),
                    place: format!("{} {}", land.rooms()[(i + j) % 3], 1 + rng.u8(..4)),
                    capacity: 12 + rng.u32(..6),
                    status: RunStatus::Running,
                    schedule: Schedule {
                        start_date: iso(start),
                        end_date: iso(start + Duration::weeks(i64::from(p.duration_weeks).max(40))),
                        days: DAYS[(i + j) % DAYS.len()].iter().copied().collect(),
                        start_time: ["08:30", "10:30", "13:30"][(i + 2 * j) % 3].into(),
                        end_time: ["10:00", "12:00", "15:00"][(i + 2 * j) % 3].into(),
                    },
                    waiting_list: BTreeMap::new(),
                });
            }
        }

        // Case files, with most people allocated to one or two runs.
        let mut cases = Vec::with_capacity(cfg.cases);
        for n in 0..cfg.cases {
            let person = format!("{fac}-{:06}", n + 1);
            let admitted = today - Duration::days(rng.i64(20..2_000));
            let mut c = CaseFile {
                person_id: person.clone(),
                prison_number: format!("{}/{}", admitted.year(), 10_000 + n),
                given_name: given[rng.usize(..given.len())].1.into(),
                family_name: family[rng.usize(..family.len())].into(),
                date_of_birth: Some(iso(today - Duration::days(rng.i64(18 * 365..65 * 365)))),
                language: languages[rng.usize(..languages.len())].into(),
                holding_facility: fac.clone(),
                admission_date: iso(admitted),
                ..CaseFile::default()
            };
            let officer = &officers[n % officers.len()];
            let admitted_at = ms(admitted) + 10 * 3_600_000;
            let release = today + Duration::days(rng.i64(10..1_500));
            c.expected_release_date = Some(Stamped::new(iso(release), records, admitted_at));
            let sentenced = rng.u8(..5) != 0;
            c.sentence_date = sentenced.then(|| iso(admitted + Duration::days(rng.i64(0..90))));
            c.custody_status = Some(Stamped::new(
                if sentenced {
                    CustodyStatus::Sentenced
                } else {
                    [CustodyStatus::Remand, CustodyStatus::AwaitingSentence][rng.usize(..2)]
                },
                records,
                admitted_at,
            ));
            let place = Stamped::new(
                Location {
                    unit: land.unit(rng.usize(..5)),
                    cell: (101 + rng.u32(..40)).to_string(),
                },
                records,
                admitted_at,
            );
            c.moves
                .insert(format!("{admitted_at}-{records}"), place.clone());
            c.location = Some(place);
            c.security = Some(Stamped::new(
                SecurityAssessment {
                    level: [
                        SecurityLevel::Minimum,
                        SecurityLevel::Medium,
                        SecurityLevel::Medium,
                        SecurityLevel::High,
                    ][rng.usize(..4)],
                    assessed_on: iso(admitted + Duration::days(7)),
                },
                officer,
                admitted_at + 7 * 86_400_000,
            ));
            c.case_officer = Some(officer.clone());
            let assessed_at = ms(admitted) + 14 * 86_400_000;
            for d in NeedDomain::ALL {
                let level = [
                    NeedLevel::None,
                    NeedLevel::Low,
                    NeedLevel::Medium,
                    NeedLevel::High,
                ][rng.usize(..4)];
                c.needs.insert(
                    d.code().into(),
                    NeedAssessment {
                        level,
                        notes: String::new(),
                        assessed_by: officer.clone(),
                        assessed_at,
                    },
                );
            }
            for g in 0..rng.usize(1..4) {
                let domain = NeedDomain::ALL[rng.usize(..NeedDomain::ALL.len())];
                c.goals.insert(
                    format!("g{}", g + 1),
                    PlanGoal {
                        title: format!("Plan goal for {}", domain.code().replace('_', " ")),
                        domain: domain.code().into(),
                        target_date: Some(iso(
                            release.min(today + Duration::days(rng.i64(-30..200)))
                        )),
                        status: if rng.u8(..5) == 0 {
                            GoalStatus::Completed
                        } else {
                            GoalStatus::Active
                        },
                        created_by: officer.clone(),
                        created_at: assessed_at,
                    },
                );
            }
            for e in 0..rng.usize(0..3) {
                let pick = rng.usize(..runs.len());
                let run = &mut runs[pick];
                let allocated = run.allocated() < run.capacity as usize;
                run.waiting_list.insert(
                    person.clone(),
                    WaitingEntry {
                        person_id: person.clone(),
                        added_at: assessed_at,
                        added_by: officer.clone(),
                        status: if allocated {
                            WaitStatus::Allocated
                        } else {
                            WaitStatus::Waiting
                        },
                    },
                );
                c.enrolments.insert(
                    format!("e{}", e + 1),
                    Enrolment {
                        run_id: run.id.clone(),
                        programme_code: run.programme_code.clone(),
                        facility_id: fac.clone(),
                        status: if allocated {
                            EnrolmentStatus::Active
                        } else {
                            EnrolmentStatus::Pending
                        },
                        start_date: allocated.then(|| run.schedule.start_date.clone()),
                        ..Enrolment::default()
                    },
                );
            }
            for k in 0..rng.usize(1..4) {
                let at = assessed_at + rng.i64(0..60) * 86_400_000;
                let note_type = [
                    NoteType::General,
                    NoteType::Education,
                    NoteType::Resettlement,
                    NoteType::Health,
                ][rng.usize(..4)];
                c.notes.insert(
                    format!("note-{:02}", k + 1),
                    CaseNote {
                        author: officer.clone(),
                        at,
                        facility_id: fac.clone(),
                        note_type,
                        text: format!("Review meeting {}: discussed progress on the plan.", k + 1),
                        restricted: rng.u8(..10) == 0,
                    },
                );
            }
            if rng.u8(..3) == 0 {
                let (pid, _, kind, services) = PARTNERS[rng.usize(..PARTNERS.len())];
                let mut r = Referral::request(
                    pid,
                    services[0],
                    "identified in needs assessment",
                    false,
                    "ev-1",
                    officer,
                    assessed_at,
                );
                r.health = kind == PartnerKind::Clinic;
                if rng.bool() {
                    let _ = r.advance(
                        ReferralStatus::Accepted,
                        "ev-2",
                        "partner",
                        assessed_at + 7 * 86_400_000,
                        "",
                    );
                }
                c.referrals.insert("ref-1".into(), r);
            }
            c.release_plan.accommodation.status = [
                PlanItemStatus::NotStarted,
                PlanItemStatus::InProgress,
                PlanItemStatus::Done,
            ][rng.usize(..3)];
            c.release_plan.id_documents.status =
                [PlanItemStatus::NotStarted, PlanItemStatus::Done][rng.usize(..2)];
            cases.push(c);
        }

        // Today's and the next two weeks' sessions, from each run's schedule, not yet marked.
        let mut registers: BTreeMap<(String, String), AttendanceRegister> = BTreeMap::new();
        for run in &runs {
            for day in run.schedule.dates(today, today + Duration::days(13)) {
                registers
                    .entry((run.id.clone(), month_key(day)))
                    .or_insert_with(|| AttendanceRegister {
                        facility_id: fac.clone(),
                        run_id: run.id.clone(),
                        month: month_key(day),
                        ..AttendanceRegister::default()
                    })
                    .sessions
                    .insert(iso(day), run.schedule.session(day));
            }
        }
        // Attendance: walk back from yesterday, one session per run on its days, marking everyone
        // allocated, until the requested number of marks is reached.
        let mut marks = 0;
        let mut day = today - Duration::days(1);
        let earliest = today - Duration::days(3 * 365);
        while marks < cfg.marks && day > earliest {
            for run in &runs {
                if marks >= cfg.marks {
                    break;
                }
                let starts = parse_date(&run.schedule.start_date).unwrap_or(today);
                if day < starts || !run.schedule.days.contains(&Weekday::of(day)) {
                    continue;
                }
                let reg = registers
                    .entry((run.id.clone(), month_key(day)))
                    .or_insert_with(|| AttendanceRegister {
                        facility_id: fac.clone(),
                        run_id: run.id.clone(),
                        month: month_key(day),
                        ..AttendanceRegister::default()
                    });
                let session_id = iso(day);
                reg.sessions
                    .insert(session_id.clone(), run.schedule.session(day));
                let marked_at = ms(day) + 12 * 3_600_000;
                for w in run
                    .waiting_list
                    .values()
                    .filter(|w| w.status == WaitStatus::Allocated)
                {
                    if marks >= cfg.marks {
                        break;
                    }
                    let outcome = match rng.u8(..20) {
                        0 => MarkOutcome::AbsentExcused,
                        1 => MarkOutcome::AbsentUnexcused,
                        2 => MarkOutcome::Refused,
                        _ => MarkOutcome::Attended,
                    };
                    let _ = reg.mark(
                        &session_id,
                        &w.person_id,
                        outcome,
                        &run.instructor,
                        marked_at,
                        0,
                    );
                    marks += 1;
                }
            }
            day -= Duration::days(1);
        }

        SampleFacility {
            facility,
            programmes,
            partners,
            staff,
            runs,
            registers: registers.into_values().collect(),
            cases,
        }
    }

    /// One log-in per role, as (the role in words, username).
    pub fn one_per_role(&self) -> Vec<(String, String)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for s in &self.staff {
            for r in &s.roles {
                if seen.insert(*r) {
                    out.push((role_words(*r).to_owned(), s.username.clone()));
                }
            }
        }
        out
    }

    /// Attendance marks across all registers.
    pub fn marks(&self) -> usize {
        self.registers.iter().map(|r| r.marks.len()).sum()
    }

    /// Writes everything into `store`, durably, in a few group commits.
    pub fn load(&self, store: &Store, now: Millis) -> Result<(), StoreError> {
        self.load_national(store, now)?;
        self.load_facility(store, now)
    }

    /// Writes the national documents: what a hub holds.
    pub fn load_national(&self, store: &Store, now: Millis) -> Result<(), StoreError> {
        store.put(&self.facility, now)?;
        store.put_many(&self.programmes, now)?;
        store.put_many(&self.partners, now)?;
        Ok(())
    }

    /// Writes the facility's own documents: what its gateway creates.
    pub fn load_facility(&self, store: &Store, now: Millis) -> Result<(), StoreError> {
        store.put_many(&self.staff, now)?;
        store.put_many(&self.runs, now)?;
        store.put_many(&self.registers, now)?;
        store.put_many(&self.cases, now)?;
        Ok(())
    }
}

/// Every sample staff account's password.
pub const DEMO_PASSWORD: &str = "pathway-demo";

/// The argon2id hash of [`DEMO_PASSWORD`], with a salt drawn from the seed so that the sample
/// stays deterministic.
fn demo_password_hash(seed: u64) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    salt[..8].copy_from_slice(&seed.to_be_bytes());
    salt[8..].copy_from_slice(b"pathway!");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a salt");
    argon2::Argon2::default()
        .hash_password(DEMO_PASSWORD.as_bytes(), &salt)
        .map(|h| h.to_string())
        .expect("argon2id with default parameters")
}

fn role_words(r: Role) -> &'static str {
    match r {
        Role::PrisonOfficer => "prison officer",
        Role::RecordsOfficer => "records officer",
        Role::Instructor => "instructor",
        Role::CaseOfficer => "case officer",
        Role::HealthStaff => "health staff",
        Role::FacilityManager => "facility manager",
        Role::FacilityIt => "facility IT",
    }
}
