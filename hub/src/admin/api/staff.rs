//! Staff accounts of a facility, made and changed at the hub: one-time passwords, roles,
//! disabling, resets.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::crypt::hash_password;
use pathway_shared::import::{one_time_password, role_from_code, username_ok};
use pathway_shared::model::{Kind, Role, StaffAccount, staff_id};
use pathway_shared::store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{known_facility, list, text};
use crate::admin::AdminRole::{Auditor, NationalAdmin};
use crate::admin::{Admin, AdminError, AdminResult, AdminUser, blocking, require};

/// A staff account as the administration shows it: never its password hash.
pub(crate) fn staff_view(a: &StaffAccount) -> Value {
    json!({
        "username": a.username,
        "facility": a.facility_id,
        "display_name": a.display_name,
        "roles": a.roles,
        "disabled": a.disabled,
        "must_change_password": a.must_change_password,
    })
}

pub(crate) async fn staff_list(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(facility): Path<String>,
) -> AdminResult<Json<Vec<Value>>> {
    require(&who, &[NationalAdmin, Auditor], "see staff accounts")?;
    blocking(move || {
        known_facility(&admin, &facility)?;
        let all =
            list::<StaffAccount>(&admin, &format!("facility:{facility}"), Kind::StaffAccount)?;
        Ok(Json(all.iter().map(staff_view).collect()))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RolesBody {
    pub roles: Vec<String>,
}

fn roles(codes: &[String]) -> AdminResult<BTreeSet<Role>> {
    let mut out = BTreeSet::new();
    for c in codes {
        out.insert(role_from_code(c.trim()).ok_or_else(|| {
            AdminError::field(
                "roles",
                format!(
                    "`{c}` is not a role: use prison_officer, records_officer, instructor, \
                     case_officer, health_staff, facility_manager or facility_it"
                ),
            )
        })?);
    }
    if out.is_empty() {
        return Err(AdminError::field("roles", "give at least one role"));
    }
    Ok(out)
}

/// Creates a staff account at a facility with a one-time password, which the staff member must
/// change at their first log-in at the gateway. The account reaches the gateway on its next sync.
pub(crate) async fn create_staff(
    admin: &Arc<Admin>,
    who: &AdminUser,
    facility: String,
    b: NewStaff,
) -> AdminResult<Value> {
    require(who, &[NationalAdmin], "create staff accounts")?;
    let username = b.username.trim().to_owned();
    if !username_ok(&username) {
        return Err(AdminError::field(
            "username",
            "use 2 to 64 lowercase letters, digits, `.`, `-` or `_`",
        ));
    }
    let display_name = text("display_name", &b.display_name, 100)?;
    let roles = roles(&b.roles)?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        known_facility(&admin, &facility)?;
        let id = staff_id(&facility, &username);
        if admin.store.meta(&id)?.is_some() {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("{facility} already has a staff account `{username}`"),
            ));
        }
        let password = one_time_password();
        let account = StaffAccount {
            username: username.clone(),
            facility_id: facility.clone(),
            display_name,
            roles,
            password_hash: hash_password(&password),
            disabled: false,
            must_change_password: true,
            training: Default::default(),
        };
        let now = admin.clock.now();
        admin.store.put(&account, now)?;
        admin
            .audit
            .record(&who.username, "create_staff", id.as_str(), now)?;
        let mut v = staff_view(&account);
        v["one_time_password"] = json!(password);
        Ok(v)
    })
    .await
}

pub(crate) async fn staff_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(facility): Path<String>,
    body: Result<Json<NewStaff>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let Json(b) = body?;
    let v = create_staff(&admin, &who, facility, b).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Changes one staff account with `f`, audited as `action`.
async fn change_staff(
    admin: Arc<Admin>,
    who: AdminUser,
    (facility, username): (String, String),
    action: &'static str,
    f: impl FnOnce(&mut StaffAccount) -> Option<String> + Send + 'static,
) -> AdminResult<Json<Value>> {
    require(&who, &[NationalAdmin], "change staff accounts")?;
    blocking(move || {
        known_facility(&admin, &facility)?;
        let id = staff_id(&facility, &username);
        if admin.store.meta(&id)?.is_none() {
            return Err(AdminError::not_found(format!(
                "{facility} has no staff account `{username}`"
            )));
        }
        let now = admin.clock.now();
        let (shown, _) = admin
            .store
            .update::<StaffAccount, _, StoreError>(&id, now, |a| {
                let secret = f(a);
                let mut v = staff_view(a);
                if let Some(p) = secret {
                    v["one_time_password"] = json!(p);
                }
                Ok(v)
            })?;
        admin
            .audit
            .record(&who.username, action, id.as_str(), now)?;
        Ok(Json(shown))
    })
    .await
}

/// A change to a staff account at the hub.
pub(crate) enum StaffChange {
    Roles(Vec<String>),
    Disable,
    Enable,
    /// A new one-time password, shown once.
    Reset,
}

/// Checks and makes `change` to `username`'s account at `facility`, audited; the account as it
/// is now (with a new one-time password after a reset).
pub(crate) async fn change_staff_account(
    admin: &Arc<Admin>,
    who: &AdminUser,
    at: (String, String),
    change: StaffChange,
) -> AdminResult<Value> {
    let (admin, who) = (admin.clone(), who.clone());
    let Json(v) = match change {
        StaffChange::Roles(r) => {
            let roles = roles(&r)?;
            change_staff(admin, who, at, "change_staff_roles", move |a| {
                a.roles = roles;
                None
            })
            .await?
        }
        StaffChange::Disable => {
            change_staff(admin, who, at, "disable_staff", |a| {
                a.disabled = true;
                None
            })
            .await?
        }
        StaffChange::Enable => {
            change_staff(admin, who, at, "enable_staff", |a| {
                a.disabled = false;
                None
            })
            .await?
        }
        StaffChange::Reset => {
            change_staff(admin, who, at, "reset_staff_password", |a| {
                let p = one_time_password();
                a.password_hash = hash_password(&p);
                a.must_change_password = true;
                Some(p)
            })
            .await?
        }
    };
    Ok(v)
}

pub(crate) async fn staff_roles(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
    body: Result<Json<RolesBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    change_staff_account(&admin, &who, at, StaffChange::Roles(b.roles))
        .await
        .map(Json)
}

pub(crate) async fn staff_disable(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
) -> AdminResult<Json<Value>> {
    change_staff_account(&admin, &who, at, StaffChange::Disable)
        .await
        .map(Json)
}

pub(crate) async fn staff_enable(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
) -> AdminResult<Json<Value>> {
    change_staff_account(&admin, &who, at, StaffChange::Enable)
        .await
        .map(Json)
}

pub(crate) async fn staff_reset(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
) -> AdminResult<Json<Value>> {
    change_staff_account(&admin, &who, at, StaffChange::Reset)
        .await
        .map(Json)
}
