//! The administration's JSON API. Each handler checks the administrator's role first, checks
//! the whole input before it writes (a refusal names the field), and records every write, and
//! every read of a case file, in the hub's audit trail.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use pathway_shared::crypt::hash_password;
use pathway_shared::model::{
    CaseFile, Facility, Kind, Partner, PartnerKind, Programme, ProgrammeCategory, Role,
    StaffAccount, Visibility, case_id, facility_id, from_code, partner_id, programme_id, staff_id,
};
use pathway_shared::store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Admin, AdminError, AdminResult, AdminRole, AdminUser, COOKIE, blocking, require, token,
};
use AdminRole::{Auditor, NationalAdmin, SyncOperator};
use pathway_shared::import::{ImportError, one_time_password, role_from_code, username_ok};

const ALL: &[AdminRole] = &[NationalAdmin, SyncOperator, Auditor];

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    pub username: String,
    pub password: String,
}

/// Checks a log-in; `Ok(None)` for a wrong username or password (audited).
pub(super) async fn check_login(
    admin: &Arc<Admin>,
    b: LoginBody,
) -> AdminResult<Option<(String, AdminUser)>> {
    if b.username.len() > 64 {
        return Err(AdminError::field(
            "username",
            "a username has at most 64 characters",
        ));
    }
    if b.password.len() > 1024 {
        return Err(AdminError::field(
            "password",
            "a password has at most 1,024 bytes",
        ));
    }
    let admin = admin.clone();
    blocking(move || {
        let now = admin.clock.now();
        let user = b.username.trim().to_owned();
        let got = admin
            .sessions
            .login(&admin.store, &user, &b.password, now)?;
        let action = if got.is_some() {
            "login"
        } else {
            "login_failed"
        };
        admin.audit.record(&user, action, &user, now)?;
        Ok(got)
    })
    .await
}

pub(super) async fn login(
    State(admin): State<Arc<Admin>>,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> AdminResult<impl IntoResponse> {
    let Json(b) = body?;
    let Some((t, user)) = check_login(&admin, b).await? else {
        return Err(AdminError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password",
        ));
    };
    Ok((
        [(header::SET_COOKIE, session_cookie(&t))],
        Json(json!({
            "token": t,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.code(),
        })),
    ))
}

/// The `Set-Cookie` value that carries a dashboard session.
pub(super) fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/")
}

pub(super) async fn logout(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> StatusCode {
    if let Some(t) = token(&headers) {
        admin.sessions.logout(&t);
    }
    StatusCode::NO_CONTENT
}

pub(super) async fn me(who: AdminUser) -> Json<Value> {
    Json(json!({
        "username": who.username,
        "display_name": who.display_name,
        "role": who.role.code(),
    }))
}

/// `GET /api/fleet`: every gateway's sync state as the hub saw it.
pub(super) async fn fleet(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, ALL, "see the fleet")?;
    Ok(Json(
        serde_json::to_value((admin.status)()).unwrap_or_default(),
    ))
}

/// `GET /api/reviews`: the review queue, open items first.
pub(super) async fn reviews(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, ALL, "see the review queue")?;
    blocking(move || Ok(Json(json!({ "items": admin.store.reviews()? })))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewedBody {
    pub key: String,
}

/// Marks an item reviewed as `who`, audited.
pub(super) async fn mark_item(
    admin: &Arc<Admin>,
    who: &AdminUser,
    key: String,
) -> AdminResult<Value> {
    require(who, &[NationalAdmin], "mark review items")?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let now = admin.clock.now();
        let item = admin
            .store
            .mark_reviewed(&key, &who.username, now)?
            .ok_or_else(|| AdminError::field("key", format!("no review item `{key}`")))?;
        admin
            .audit
            .record(&who.username, "mark_reviewed", &key, now)?;
        Ok(json!(item))
    })
    .await
}

pub(super) async fn mark_reviewed(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<ReviewedBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    mark_item(&admin, &who, b.key).await.map(Json)
}

/// `GET /api/facilities`: the national registry.
pub(super) async fn facilities(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Vec<Facility>>> {
    require(&who, ALL, "see the facilities")?;
    blocking(move || Ok(Json(list::<Facility>(&admin, "national", Kind::Facility)?))).await
}

/// Every document of a kind in a partition, read whole.
pub(super) fn list<T: pathway_shared::model::Aggregate>(
    admin: &Admin,
    partition: &str,
    kind: Kind,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for id in admin.store.list(partition, kind)? {
        if let Some(v) = admin.store.get::<T>(&id)? {
            out.push(v);
        }
    }
    Ok(out)
}

fn known_facility(admin: &Admin, facility: &str) -> AdminResult<()> {
    if username_ok(&facility.to_lowercase())
        && admin
            .store
            .get::<Facility>(&facility_id(facility))?
            .is_some()
    {
        Ok(())
    } else {
        Err(AdminError::not_found(format!(
            "`{facility}` is not a facility in the national registry"
        )))
    }
}

/// A staff account as the administration shows it: never its password hash.
pub(super) fn staff_view(a: &StaffAccount) -> Value {
    json!({
        "username": a.username,
        "facility": a.facility_id,
        "display_name": a.display_name,
        "roles": a.roles,
        "disabled": a.disabled,
        "must_change_password": a.must_change_password,
    })
}

pub(super) async fn staff_list(
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
pub(super) struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RolesBody {
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

/// Text a person typed: trimmed, 1 to `max` characters, nothing invisible.
fn text(field: &str, s: &str, max: usize) -> AdminResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(AdminError::field(field, format!("{field} is needed")));
    }
    if t.chars().count() > max {
        return Err(AdminError::field(
            field,
            format!("{field} has at most {max} characters"),
        ));
    }
    if t.chars().any(|c| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    }) {
        return Err(AdminError::field(
            field,
            format!("{field} holds a control character"),
        ));
    }
    Ok(t.to_owned())
}

/// Creates a staff account at a facility with a one-time password, which the staff member must
/// change at their first log-in at the gateway. The account reaches the gateway on its next sync.
pub(super) async fn create_staff(
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

pub(super) async fn staff_create(
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

pub(super) async fn staff_roles(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
    body: Result<Json<RolesBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    let roles = roles(&b.roles)?;
    change_staff(admin, who, at, "change_staff_roles", move |a| {
        a.roles = roles;
        None
    })
    .await
}

pub(super) async fn staff_disable(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
) -> AdminResult<Json<Value>> {
    change_staff(admin, who, at, "disable_staff", |a| {
        a.disabled = true;
        None
    })
    .await
}

pub(super) async fn staff_enable(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
) -> AdminResult<Json<Value>> {
    change_staff(admin, who, at, "enable_staff", |a| {
        a.disabled = false;
        None
    })
    .await
}

pub(super) async fn staff_reset(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(at): Path<(String, String)>,
) -> AdminResult<Json<Value>> {
    change_staff(admin, who, at, "reset_staff_password", |a| {
        let p = one_time_password();
        a.password_hash = hash_password(&p);
        a.must_change_password = true;
        Some(p)
    })
    .await
}

/// `GET /api/programmes`: the catalogue, withdrawn programmes too.
pub(super) async fn programmes(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Vec<Programme>>> {
    require(&who, ALL, "see the catalogue")?;
    blocking(move || {
        Ok(Json(list::<Programme>(
            &admin,
            "national",
            Kind::Programme,
        )?))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewProgramme {
    pub code: String,
    pub title: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
    pub duration_weeks: u32,
    pub sessions_per_week: u32,
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub accrediting_body: Option<String>,
    #[serde(default)]
    pub eligibility_notes: String,
}

fn optional(field: &str, s: &Option<String>, max: usize) -> AdminResult<Option<String>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(field, t, max).map(Some),
    }
}

pub(super) async fn programme_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewProgramme>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Programme>)> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "edit the catalogue")?;
    let code = b.code.trim().to_uppercase();
    let code_ok = (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-');
    if !code_ok {
        return Err(AdminError::field(
            "code",
            "use 2 to 32 capital letters, digits or `-`",
        ));
    }
    let category = from_code::<ProgrammeCategory>(b.category.trim()).ok_or_else(|| {
        AdminError::field(
            "category",
            format!("`{}` is not a programme category", b.category),
        )
    })?;
    if !(1..=260).contains(&b.duration_weeks) {
        return Err(AdminError::field(
            "duration_weeks",
            "between 1 and 260 weeks",
        ));
    }
    if !(1..=14).contains(&b.sessions_per_week) {
        return Err(AdminError::field(
            "sessions_per_week",
            "between 1 and 14 a week",
        ));
    }
    let p = Programme {
        title: text("title", &b.title, 120)?,
        description: match b.description.trim() {
            "" => String::new(),
            d => text("description", d, 2000)?,
        },
        certificate: optional("certificate", &b.certificate, 120)?,
        accrediting_body: optional("accrediting_body", &b.accrediting_body, 120)?,
        eligibility_notes: match b.eligibility_notes.trim() {
            "" => String::new(),
            d => text("eligibility_notes", d, 2000)?,
        },
        code,
        category,
        duration_weeks: b.duration_weeks,
        sessions_per_week: b.sessions_per_week,
        withdrawn: false,
    };
    blocking(move || {
        let id = programme_id(&p.code);
        if admin.store.meta(&id)?.is_some() {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("the catalogue already has a programme {}", p.code),
            ));
        }
        let now = admin.clock.now();
        admin.store.put(&p, now)?;
        admin
            .audit
            .record(&who.username, "create_programme", id.as_str(), now)?;
        Ok((StatusCode::CREATED, Json(p)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgrammeEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub eligibility_notes: Option<String>,
    pub duration_weeks: Option<u32>,
    pub sessions_per_week: Option<u32>,
}

/// `POST /api/programmes/{code}`: changes what the catalogue says of a programme (each field
/// given); runs already made from it keep their own schedule.
pub(super) async fn programme_edit(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(code): Path<String>,
    body: Result<Json<ProgrammeEdit>, JsonRejection>,
) -> AdminResult<Json<Programme>> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "edit the catalogue")?;
    let title = b
        .title
        .as_deref()
        .map(|t| text("title", t, 120))
        .transpose()?;
    let description = b
        .description
        .as_deref()
        .map(|t| text("description", t, 2000))
        .transpose()?;
    let notes = b
        .eligibility_notes
        .as_deref()
        .map(|t| text("eligibility_notes", t, 2000))
        .transpose()?;
    if b.duration_weeks.is_some_and(|w| !(1..=260).contains(&w)) {
        return Err(AdminError::field(
            "duration_weeks",
            "between 1 and 260 weeks",
        ));
    }
    if b.sessions_per_week.is_some_and(|n| !(1..=14).contains(&n)) {
        return Err(AdminError::field(
            "sessions_per_week",
            "between 1 and 14 a week",
        ));
    }
    blocking(move || {
        let id = programme_id(&code);
        if admin.store.get::<Programme>(&id)?.is_none() {
            return Err(AdminError::not_found(format!(
                "the catalogue has no programme `{code}`"
            )));
        }
        let now = admin.clock.now();
        let (p, _) = admin
            .store
            .update::<Programme, _, StoreError>(&id, now, |p| {
                if let Some(t) = title {
                    p.title = t;
                }
                if let Some(d) = description {
                    p.description = d;
                }
                if let Some(n) = notes {
                    p.eligibility_notes = n;
                }
                if let Some(w) = b.duration_weeks {
                    p.duration_weeks = w;
                }
                if let Some(n) = b.sessions_per_week {
                    p.sessions_per_week = n;
                }
                Ok(p.clone())
            })?;
        admin
            .audit
            .record(&who.username, "edit_programme", id.as_str(), now)?;
        Ok(Json(p))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewFacility {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub capacity: u32,
}

/// `POST /api/facilities`: a prison added to the national registry.
pub(super) async fn facility_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewFacility>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Facility>)> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "edit the facility registry")?;
    let id = b.id.trim().to_uppercase();
    if !(2..=12).contains(&id.len())
        || !id
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(AdminError::field(
            "id",
            "use 2 to 12 capital letters or digits (WHK)",
        ));
    }
    let f = Facility {
        name: text("name", &b.name, 120)?,
        region: match b.region.trim() {
            "" => String::new(),
            r => text("region", r, 80)?,
        },
        country: match b.country.trim() {
            "" => String::new(),
            c => text("country", c, 80)?,
        },
        capacity: b.capacity,
        id,
    };
    blocking(move || {
        let doc = facility_id(&f.id);
        if admin.store.meta(&doc)?.is_some() {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("the registry already has {}", f.id),
            ));
        }
        let now = admin.clock.now();
        admin.store.put(&f, now)?;
        admin
            .audit
            .record(&who.username, "create_facility", doc.as_str(), now)?;
        Ok((StatusCode::CREATED, Json(f)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewPartner {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub services: Vec<String>,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub contact: String,
}

/// `POST /api/partners`: an organisation people can be referred to.
pub(super) async fn partner_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewPartner>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Partner>)> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "edit partners")?;
    let id = b.id.trim().to_lowercase();
    if !username_ok(&id) {
        return Err(AdminError::field(
            "id",
            "use 2 to 64 lowercase letters, digits, `.`, `-` or `_`",
        ));
    }
    let kind = from_code::<PartnerKind>(b.kind.trim()).ok_or_else(|| {
        AdminError::field("kind", "use ngo, employer, housing_provider or clinic")
    })?;
    let mut services = BTreeSet::new();
    for s in &b.services {
        services.insert(text("services", s, 80)?);
    }
    if services.is_empty() {
        return Err(AdminError::field("services", "name at least one service"));
    }
    let p = Partner {
        name: text("name", &b.name, 120)?,
        kind,
        services,
        region: match b.region.trim() {
            "" => String::new(),
            r => text("region", r, 80)?,
        },
        contact: match b.contact.trim() {
            "" => String::new(),
            c => text("contact", c, 200)?,
        },
        active: true,
        id,
    };
    blocking(move || {
        let doc = partner_id(&p.id);
        if admin.store.meta(&doc)?.is_some() {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("there is already a partner {}", p.id),
            ));
        }
        let now = admin.clock.now();
        admin.store.put(&p, now)?;
        admin
            .audit
            .record(&who.username, "create_partner", doc.as_str(), now)?;
        Ok((StatusCode::CREATED, Json(p)))
    })
    .await
}

/// Withdraws a programme: never deleted, so the runs that use it stay valid; gateways stop
/// offering it for new runs once the change has synced.
pub(super) async fn withdraw(
    admin: &Arc<Admin>,
    who: &AdminUser,
    code: String,
) -> AdminResult<Programme> {
    require(who, &[NationalAdmin], "edit the catalogue")?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let id = programme_id(&code);
        if admin.store.get::<Programme>(&id)?.is_none() {
            return Err(AdminError::not_found(format!(
                "the catalogue has no programme `{code}`"
            )));
        }
        let now = admin.clock.now();
        let (p, _) = admin
            .store
            .update::<Programme, _, StoreError>(&id, now, |p| {
                p.withdrawn = true;
                Ok(p.clone())
            })?;
        admin
            .audit
            .record(&who.username, "withdraw_programme", id.as_str(), now)?;
        Ok(p)
    })
    .await
}

pub(super) async fn programme_withdraw(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(code): Path<String>,
) -> AdminResult<Json<Programme>> {
    withdraw(&admin, &who, code).await.map(Json)
}

/// `GET /api/cases/{person}`: a case file, for a national administrator only, without health
/// content or restricted notes; audited.
pub(super) async fn case_read(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(person): Path<String>,
) -> AdminResult<Json<CaseFile>> {
    require(&who, &[NationalAdmin], "read case files")?;
    blocking(move || {
        let id = pathway_shared::model::DocId::parse(&format!("case/{person}"))
            .map_err(|e| AdminError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let now = admin.clock.now();
        let Some(mut file) = admin.store.get::<CaseFile>(&case_id(&person))? else {
            return Err(AdminError::not_found(format!("no case file for {person}")));
        };
        admin
            .audit
            .record(&who.username, "read_case", id.as_str(), now)?;
        file.redact(Visibility {
            health: false,
            restricted_notes: false,
        });
        Ok(Json(file))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferBody {
    pub to_facility: String,
    pub reason: String,
}

/// `POST /api/cases/{person}/transfer`: a national administrator moves a person's case file to
/// another facility in the registry; both facilities hear of it on their next sync (the old one
/// keeps a stub). Audited.
pub(super) async fn case_transfer(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(person): Path<String>,
    body: Result<Json<TransferBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "transfer people")?;
    let reason = text("reason", &b.reason, 500)?;
    let to = b.to_facility.trim().to_owned();
    blocking(move || {
        let id = pathway_shared::model::DocId::parse(&format!("case/{person}"))
            .map_err(|e| AdminError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let Some(file) = admin.store.get::<CaseFile>(&id)? else {
            return Err(AdminError::not_found(format!("no case file for {person}")));
        };
        if admin.store.get::<Facility>(&facility_id(&to))?.is_none() {
            return Err(AdminError::field(
                "to_facility",
                format!("`{to}` is not a facility in the national registry"),
            ));
        }
        if file.holding_facility == to {
            return Err(AdminError::field(
                "to_facility",
                format!("{person} is already held at {to}"),
            ));
        }
        let now = admin.clock.now();
        let transfer = format!("{now}-{}", who.username);
        pathway_shared::sync::move_case(
            &admin.store,
            &person,
            &to,
            (&who.username, &reason),
            &transfer,
            now,
        )?;
        admin
            .audit
            .record(&who.username, "transfer_case", id.as_str(), now)?;
        Ok(Json(
            json!({ "transfer": transfer, "from": file.holding_facility, "to": to }),
        ))
    })
    .await
}

/// What an import answers: its report, or every bad row by line and column (422, nothing
/// stored).
fn import_answer(
    r: Result<pathway_shared::import::Report, ImportError>,
) -> AdminResult<axum::response::Response> {
    match r {
        Ok(report) => Ok(Json(json!(report)).into_response()),
        Err(ImportError::Rows(rows)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": format!("{} row(s) are wrong; nothing was imported", rows.len()),
                "rows": rows,
            })),
        )
            .into_response()),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

/// `POST /api/facilities/{facility}/import/people`: a CSV of the people in custody there.
pub(super) async fn import_people(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(facility): Path<String>,
    body: axum::body::Bytes,
) -> AdminResult<axum::response::Response> {
    require(&who, &[NationalAdmin], "import registers")?;
    blocking(move || {
        known_facility(&admin, &facility)?;
        let now = admin.clock.now();
        let r = pathway_shared::import::import_people(
            &admin.store,
            &facility,
            "H",
            &body,
            &who.username,
            now,
            |_, _| {},
        );
        if let Ok(rep) = &r {
            let target = format!(
                "facility:{facility} ({} new, {} unchanged)",
                rep.created, rep.unchanged
            );
            admin
                .audit
                .record(&who.username, "import_people", &target, now)?;
        }
        import_answer(r)
    })
    .await
}

/// `POST /api/facilities/{facility}/import/staff`: a CSV of staff accounts; the answer holds
/// each new account's one-time password.
pub(super) async fn import_staff(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(facility): Path<String>,
    body: axum::body::Bytes,
) -> AdminResult<axum::response::Response> {
    require(&who, &[NationalAdmin], "import staff accounts")?;
    blocking(move || {
        known_facility(&admin, &facility)?;
        let now = admin.clock.now();
        let r =
            pathway_shared::import::import_staff(&admin.store, &facility, &body, now, |_, _| {});
        if let Ok(rep) = &r {
            let target = format!(
                "facility:{facility} ({} new, {} unchanged)",
                rep.created, rep.unchanged
            );
            admin
                .audit
                .record(&who.username, "import_staff", &target, now)?;
        }
        import_answer(r)
    })
    .await
}

/// `GET /api/revoked`: the national revocation list.
pub(super) async fn revoked(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, ALL, "see the revocation list")?;
    blocking(move || Ok(Json(json!(crate::revoke::revoked(&admin.store)?.revoked)))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeBody {
    pub reason: String,
}

/// Revokes a gateway as `who`: on the national list, its live session cut; audited.
pub(super) async fn revoke_gateway(
    admin: &Arc<Admin>,
    who: &AdminUser,
    gateway: String,
    reason: &str,
) -> AdminResult<bool> {
    require(who, &[NationalAdmin], "revoke gateways")?;
    if !username_ok(&gateway) {
        return Err(AdminError::field(
            "gateway",
            format!("`{gateway}` is not a gateway id"),
        ));
    }
    let reason = text("reason", reason, 500)?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let now = admin.clock.now();
        let new = crate::revoke::revoke(
            &admin.store,
            &admin.live,
            &gateway,
            (&who.username, &reason),
            now,
        )?;
        if new {
            admin
                .audit
                .record(&who.username, "revoke_gateway", &gateway, now)?;
        }
        Ok(new)
    })
    .await
}

/// `POST /api/gateways/{gateway}/revoke`: `{reason}`.
pub(super) async fn revoke(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(gateway): Path<String>,
    body: Result<Json<RevokeBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    let new = revoke_gateway(&admin, &who, gateway.clone(), &b.reason).await?;
    Ok(Json(
        json!({ "gateway": gateway, "revoked": true, "already": !new }),
    ))
}

/// `GET /api/audit`: the newest 500 entries of the hub's audit trail and whether the chain holds.
pub(super) async fn audit_trail(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, &[Auditor, NationalAdmin], "read the audit trail")?;
    blocking(move || {
        let entries = admin.audit.newest(500)?;
        let chain = match admin.audit.verify()? {
            Ok(n) => json!({ "intact": true, "entries": n }),
            Err(b) => json!({ "intact": false, "broken_at": b.seq, "what": b.what }),
        };
        Ok(Json(json!({ "chain": chain, "entries": entries })))
    })
    .await
}
