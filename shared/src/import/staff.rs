//! Staff accounts from a CSV file: usernames, names and roles, each new account with a
//! one-time password.

use std::collections::{BTreeMap, BTreeSet};

use super::{ImportError, Report, Row, rows, write_all};
use crate::model::{Millis, Role, StaffAccount, staff_id};
use crate::store::Store;

/// A staff role and its code in files, the API and the dashboard's forms.
pub const STAFF_ROLES: [(Role, &str); 7] = [
    (Role::PrisonOfficer, "prison_officer"),
    (Role::RecordsOfficer, "records_officer"),
    (Role::Instructor, "instructor"),
    (Role::CaseOfficer, "case_officer"),
    (Role::HealthStaff, "health_staff"),
    (Role::FacilityManager, "facility_manager"),
    (Role::FacilityIt, "facility_it"),
];

/// The role a code names.
pub fn role_from_code(code: &str) -> Option<Role> {
    STAFF_ROLES
        .iter()
        .find(|(_, c)| *c == code)
        .map(|(r, _)| *r)
}

/// Whether `name` may be a username: 2 to 64 lowercase letters, digits, `.`, `-` or `_`.
pub fn username_ok(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// A one-time password: 12 characters that are hard to misread.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    crate::crypt::random::<12>()
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// Imports staff accounts of `facility` from a CSV file (`username`, `display_name`, `roles`
/// separated by `;`): each new account gets a one-time password (in the report) that its
/// owner changes at their first log-in.
pub fn import_staff(
    store: &Store,
    facility: &str,
    bytes: &[u8],
    now: Millis,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, ImportError> {
    let rows =
        rows(bytes, &["username", "display_name", "roles"], &[]).map_err(ImportError::Rows)?;
    let mut errors = Vec::new();
    let mut new = Vec::new();
    let mut passwords = BTreeMap::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut unchanged = 0;
    for (line, cells) in &rows {
        let mut r = Row {
            line: *line,
            cells,
            errors: &mut errors,
        };
        let username = r.get("username").to_lowercase();
        if !username_ok(&username) {
            r.fail("username", format!("`{username}` is not a username: use 2 to 64 lowercase letters, digits, `.`, `-` or `_`"));
            continue;
        }
        let display_name = r.text("display_name", 100, true);
        let mut roles = BTreeSet::new();
        for code in r
            .get("roles")
            .split([';', ','])
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            match role_from_code(&code.to_lowercase().replace([' ', '-'], "_")) {
                Some(role) => {
                    roles.insert(role);
                }
                None => r.fail(
                    "roles",
                    format!(
                        "`{code}` is not a role: use {}",
                        STAFF_ROLES.map(|(_, c)| c).join(", ")
                    ),
                ),
            }
        }
        if roles.is_empty() && !r.get("roles").is_empty() {
            continue;
        }
        if roles.is_empty() {
            r.fail("roles", "give at least one role");
            continue;
        }
        if let Some(first) = seen.insert(username.clone(), *line) {
            r.fail("username", format!("{username} is also on line {first}"));
            continue;
        }
        if let Some(a) = store.get::<StaffAccount>(&staff_id(facility, &username))? {
            if a.display_name == display_name && a.roles == roles {
                unchanged += 1;
            } else {
                r.fail("username", format!("{facility} already has an account {username} with other details; change it on the dashboard"));
            }
            continue;
        }
        let password = one_time_password();
        new.push(StaffAccount {
            username: username.clone(),
            facility_id: facility.to_owned(),
            display_name,
            roles,
            password_hash: crate::crypt::hash_password(&password),
            disabled: false,
            must_change_password: true,
            training: Default::default(),
        });
        passwords.insert(username, password);
    }
    if !errors.is_empty() {
        errors.truncate(100);
        return Err(ImportError::Rows(errors));
    }
    write_all(store, &new, now, &mut progress)?;
    Ok(Report {
        rows: rows.len(),
        created: new.len(),
        unchanged,
        one_time_passwords: passwords,
        ..Report::default()
    })
}
