//! Setting a country up from the dashboard, in order: facilities (code, names in English and
//! Thai, region, time zone), programmes (titles and descriptions in both languages; withdrawn,
//! never deleted), partners (services, contact; deactivated, never deleted), and each
//! facility's staff accounts (find, create with a one-time password, roles, disable, enable,
//! reset). Every form goes through the same checks as the JSON API, which audits each change.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use pathway_shared::import::STAFF_ROLES;
use pathway_shared::model::{Facility, Kind, Partner, Programme, StaffAccount, time_zone_names};
use serde::Deserialize;

use super::{page, poster, refused, viewer};
use crate::admin::api::{
    self, FacilityEdit, NewFacility, NewPartner, NewProgramme, NewStaff, ProgrammeEdit, StaffChange,
};
use crate::admin::words::{Lang, lang, role_word, t};
use crate::admin::{Admin, AdminError, AdminRole, AdminUser, blocking};

pub(super) fn routes() -> Router<Arc<Admin>> {
    Router::new()
        .route("/facilities", get(facilities_page))
        .route("/facilities/{id}", get(facility_page))
        .route("/facilities/{id}/staff", get(staff_page))
        .route("/programmes", get(programmes_page))
        .route("/programmes/{code}", get(programme_page))
        .route("/partners", get(partners_page))
        .route("/ui/facilities", post(facility_create_post))
        .route("/ui/facilities/{id}", post(facility_edit_post))
        .route("/ui/programmes", post(programme_create_post))
        .route("/ui/programmes/{code}", post(programme_edit_post))
        .route("/ui/partners", post(partner_create_post))
        .route("/ui/partners/{id}/{what}", post(partner_active_post))
        .route(
            "/ui/facilities/{id}/staff/{username}/{what}",
            post(staff_change_post),
        )
}

/// A form's fields as posted (a name may repeat: checkboxes).
pub(super) struct Fields(HashMap<String, Vec<String>>);

impl Fields {
    pub(super) fn parse(body: &str) -> Fields {
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in form_urlencoded::parse(body.as_bytes()) {
            m.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        Fields(m)
    }

    /// The field's value, empty if not posted.
    pub(super) fn one(&self, name: &str) -> String {
        self.0
            .get(name)
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.0.get(name).cloned().unwrap_or_default()
    }

    /// A whole number, named in the refusal when it is not one.
    fn number(&self, name: &str) -> Result<u32, AdminError> {
        let v = self.one(name);
        v.trim()
            .parse()
            .map_err(|_| AdminError::field(name, format!("{name}: `{v}` is not a whole number")))
    }

    /// A whole number, or none when left empty.
    fn number_or_none(&self, name: &str) -> Result<Option<u32>, AdminError> {
        if self.one(name).trim().is_empty() {
            Ok(None)
        } else {
            self.number(name).map(Some)
        }
    }
}

/// A facility's name in the page's language.
pub(super) fn facility_name(l: Lang, f: &Facility) -> &str {
    if l == Lang::Th && !f.name_th.is_empty() {
        &f.name_th
    } else {
        &f.name
    }
}

fn programme_title(l: Lang, p: &Programme) -> &str {
    if l == Lang::Th && !p.title_th.is_empty() {
        &p.title_th
    } else {
        &p.title
    }
}

const CATEGORIES: [&str; 8] = [
    "education",
    "vocational",
    "work",
    "accredited_behavioural",
    "mental_health",
    "substance_use",
    "family",
    "faith",
];

const PARTNER_KINDS: [&str; 4] = ["ngo", "employer", "housing_provider", "clinic"];

fn category_code(p: &Programme) -> String {
    serde_json::to_value(p.category)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .map(|s| {
            // The category serialises by its variant name; the forms use snake_case codes.
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if c.is_uppercase() && i > 0 {
                    out.push('_');
                }
                out.extend(c.to_lowercase());
            }
            out
        })
        .unwrap_or_default()
}

fn partner_kind_code(p: &Partner) -> &'static str {
    match p.kind {
        pathway_shared::model::PartnerKind::Ngo => "ngo",
        pathway_shared::model::PartnerKind::Employer => "employer",
        pathway_shared::model::PartnerKind::HousingProvider => "housing_provider",
        pathway_shared::model::PartnerKind::Clinic => "clinic",
    }
}

/// What a fresh hub asks for first, in order, until each is done.
pub(super) struct Progress {
    pub(super) facilities: usize,
    pub(super) programmes: usize,
    pub(super) partners: usize,
    pub(super) staff: usize,
    pub(super) gateways: usize,
}

impl Progress {
    pub(super) fn read(admin: &Admin, facilities: &[Facility]) -> Result<Progress, AdminError> {
        let mut staff = 0;
        for f in facilities {
            staff += admin
                .store
                .list(&format!("facility:{}", f.id), Kind::StaffAccount)?
                .len();
        }
        Ok(Progress {
            facilities: facilities.len(),
            programmes: admin.store.list("national", Kind::Programme)?.len(),
            partners: admin.store.list("national", Kind::Partner)?.len(),
            staff,
            gateways: crate::fleet::registered(&admin.store)?,
        })
    }

    fn done(&self) -> bool {
        [
            self.facilities,
            self.programmes,
            self.partners,
            self.staff,
            self.gateways,
        ]
        .iter()
        .all(|n| *n > 0)
    }
}

/// The first steps, shown on the dashboard until every one is done.
pub(super) fn first_steps(l: Lang, p: &Progress) -> Markup {
    if p.done() {
        return html! {};
    }
    let steps = [
        ("step_facilities", p.facilities, "/facilities"),
        ("step_programmes", p.programmes, "/programmes"),
        ("step_partners", p.partners, "/partners"),
        ("step_staff", p.staff, "/facilities"),
        ("step_gateways", p.gateways, "/#fleet"),
    ];
    let next = steps.iter().position(|(_, n, _)| *n == 0);
    html! {
        section #first-steps .alert {
            h2 { (t(l, "first_steps")) }
            ol {
                @for (i, (key, n, href)) in steps.iter().enumerate() {
                    li {
                        @if *n > 0 {
                            span.ok { "✔ " } (t(l, key)) " (" (n) ")"
                        } @else if Some(i) == next {
                            strong { "➜ " a href=(href) { (t(l, key)) } } " — " (t(l, "do_this_next"))
                        } @else {
                            a href=(href) { (t(l, key)) }
                        }
                    }
                }
            }
        }
    }
}

/// The page for an administrator of `roles`, or the way in (log-in page, or a refusal).
async fn allowed(
    admin: &Arc<Admin>,
    headers: &HeaderMap,
    roles: &[AdminRole],
) -> Result<(Lang, AdminUser), Response> {
    let l = lang(headers);
    let who = viewer(admin, headers).await?;
    if !roles.contains(&who.role) {
        let e = AdminError::forbidden(format!(
            "a {} may not see this page",
            who.role.code().replace('_', " ")
        ));
        return Err(refused(l, &who, e));
    }
    Ok((l, who))
}

const READERS: &[AdminRole] = &[AdminRole::NationalAdmin, AdminRole::Auditor];

fn zone_list() -> Markup {
    html! {
        datalist #zones { @for z in time_zone_names() { option value=(z) {} } }
    }
}

async fn facilities_page(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let (l, who) = match allowed(&admin, &headers, READERS).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let a = admin.clone();
    let facilities =
        match blocking(move || Ok(api::list::<Facility>(&a, "national", Kind::Facility)?)).await {
            Ok(f) => f,
            Err(e) => return refused(l, &who, e),
        };
    let edit = who.role == AdminRole::NationalAdmin;
    let body = html! {
        h1 { (t(l, "facilities")) }
        @if facilities.is_empty() { p { (t(l, "no_facilities")) } }
        @else {
            section { table {
                tr { th { (t(l, "code")) } th { (t(l, "name_en")) } th { (t(l, "name_th")) }
                     th { (t(l, "region")) } th { (t(l, "time_zone")) } th {} }
                @for f in &facilities {
                    tr id=(format!("facility-{}", f.id)) {
                        td { (f.id) } td { (f.name) } td { (f.name_th) } td { (f.region) }
                        td { @if f.time_zone.is_empty() { span.bad { (t(l, "tz_missing")) } } @else { (f.time_zone) } }
                        td {
                            a href=(format!("/facilities/{}/staff", f.id)) { (t(l, "staff_accounts")) }
                            @if edit { " · " a href=(format!("/facilities/{}", f.id)) { (t(l, "edit")) } }
                        }
                    }
                }
            } }
        }
        @if edit {
            section {
                h2 { (t(l, "add_facility")) }
                form method="post" action="/ui/facilities" {
                    label { (t(l, "code")) " " input name="id" placeholder="WHK" required maxlength="12"; }
                    label { (t(l, "name_en")) " " input name="name" required maxlength="120"; }
                    label { (t(l, "name_th")) " " input name="name_th" maxlength="120"; }
                    label { (t(l, "region")) " " input name="region" maxlength="80"; }
                    label { (t(l, "time_zone")) " " input name="time_zone" list="zones" placeholder="Africa/Windhoek" required; }
                    (zone_list())
                    label { (t(l, "capacity")) " " input name="capacity" type="number" min="0" value="0"; }
                    button id="add-facility" { (t(l, "add")) }
                }
            }
        }
    };
    page(l, Some(&who), body).into_response()
}

async fn facility_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (l, who) = match allowed(&admin, &headers, &[AdminRole::NationalAdmin]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let a = admin.clone();
    let doc = pathway_shared::model::facility_id(&id);
    let f = match blocking(move || {
        a.store.get::<Facility>(&doc)?.ok_or_else(|| {
            AdminError::not_found(format!("`{id}` is not a facility in the national registry"))
        })
    })
    .await
    {
        Ok(f) => f,
        Err(e) => return refused(l, &who, e),
    };
    let body = html! {
        h1 { (f.id) " — " (facility_name(l, &f)) }
        form method="post" action=(format!("/ui/facilities/{}", f.id)) {
            label { (t(l, "name_en")) " " input name="name" value=(f.name) required maxlength="120"; }
            label { (t(l, "name_th")) " " input name="name_th" value=(f.name_th) maxlength="120"; }
            label { (t(l, "region")) " " input name="region" value=(f.region) maxlength="80"; }
            label { (t(l, "time_zone")) " " input name="time_zone" list="zones" value=(f.time_zone) required; }
            (zone_list())
            label { (t(l, "capacity")) " " input name="capacity" type="number" min="0" value=(f.capacity); }
            label { (t(l, "stale_hours")) " " input name="stale_after_hours" type="number" min="0" max="2160" value=(if f.stale_after_hours == 0 { 24 } else { f.stale_after_hours }); }
            button id="save-facility" { (t(l, "save")) }
        }
        p { a href="/facilities" { (t(l, "back_facilities")) } }
    };
    page(l, Some(&who), body).into_response()
}

async fn facility_create_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    let new = match f.number_or_none("capacity") {
        Ok(capacity) => NewFacility {
            id: f.one("id"),
            name: f.one("name"),
            name_th: f.one("name_th"),
            region: f.one("region"),
            country: String::new(),
            time_zone: f.one("time_zone"),
            capacity: capacity.unwrap_or(0),
            stale_after_hours: 0,
        },
        Err(e) => return refused(l, &who, e),
    };
    if new.time_zone.trim().is_empty() {
        return refused(
            l,
            &who,
            AdminError::field("time_zone", "a facility needs its time zone"),
        );
    }
    match api::create_facility(&admin, &who, new).await {
        Ok(_) => Redirect::to("/facilities").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn facility_edit_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    let numbers = f
        .number_or_none("capacity")
        .and_then(|c| Ok((c, f.number_or_none("stale_after_hours")?)));
    let edit = match numbers {
        Ok((capacity, stale_after_hours)) => FacilityEdit {
            name: Some(f.one("name")),
            name_th: Some(f.one("name_th")),
            region: Some(f.one("region")),
            time_zone: Some(f.one("time_zone")),
            capacity,
            stale_after_hours,
        },
        Err(e) => return refused(l, &who, e),
    };
    match api::edit_facility(&admin, &who, id, edit).await {
        Ok(_) => Redirect::to("/facilities").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn programmes_page(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let (l, who) = match allowed(&admin, &headers, READERS).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let a = admin.clone();
    let programmes = match blocking(move || {
        Ok(api::list::<Programme>(&a, "national", Kind::Programme)?)
    })
    .await
    {
        Ok(p) => p,
        Err(e) => return refused(l, &who, e),
    };
    let edit = who.role == AdminRole::NationalAdmin;
    let body = html! {
        h1 { (t(l, "catalogue")) }
        @if programmes.is_empty() { p { (t(l, "no_programmes")) } }
        @else {
            section { table {
                tr { th { (t(l, "code")) } th { (t(l, "programme")) } th { (t(l, "category")) }
                     th { (t(l, "weeks")) } th { (t(l, "status")) } th {} }
                @for p in &programmes {
                    tr id=(format!("programme-{}", p.code)) {
                        td { (p.code) }
                        td { (programme_title(l, p)) }
                        td { (t(l, &format!("cat_{}", category_code(p)))) }
                        td { (p.duration_weeks) " × " (p.sessions_per_week) }
                        td { (t(l, if p.withdrawn { "withdrawn" } else { "offered" })) }
                        td {
                            @if edit {
                                a href=(format!("/programmes/{}", p.code)) { (t(l, "edit")) }
                                @if !p.withdrawn {
                                    form.inline method="post" action=(format!("/ui/programmes/{}/withdraw", p.code)) {
                                        button id=(format!("withdraw-{}", p.code)) { (t(l, "withdraw")) }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        @if edit {
            section {
                h2 { (t(l, "add_programme")) }
                form method="post" action="/ui/programmes" {
                    label { (t(l, "code")) " " input name="code" placeholder="LIT-1" required maxlength="32"; }
                    label { (t(l, "title_en")) " " input name="title" required maxlength="120"; }
                    label { (t(l, "title_th")) " " input name="title_th" maxlength="120"; }
                    label { (t(l, "category")) " "
                        select name="category" {
                            @for c in CATEGORIES { option value=(c) { (t(l, &format!("cat_{c}"))) } }
                        }
                    }
                    label { (t(l, "description_en")) br; textarea name="description" rows="3" cols="60" maxlength="2000" {} }
                    label { (t(l, "description_th")) br; textarea name="description_th" rows="3" cols="60" maxlength="2000" {} }
                    label { (t(l, "weeks_long")) " " input name="duration_weeks" type="number" min="1" max="260" value="12" required; }
                    label { (t(l, "per_week")) " " input name="sessions_per_week" type="number" min="1" max="14" value="2" required; }
                    button id="add-programme" { (t(l, "add")) }
                }
            }
        }
    };
    page(l, Some(&who), body).into_response()
}

async fn programme_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let (l, who) = match allowed(&admin, &headers, &[AdminRole::NationalAdmin]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let a = admin.clone();
    let doc = pathway_shared::model::programme_id(&code);
    let p = match blocking(move || {
        a.store.get::<Programme>(&doc)?.ok_or_else(|| {
            AdminError::not_found(format!("the catalogue has no programme `{code}`"))
        })
    })
    .await
    {
        Ok(p) => p,
        Err(e) => return refused(l, &who, e),
    };
    let body = html! {
        h1 { (p.code) " — " (programme_title(l, &p)) }
        form method="post" action=(format!("/ui/programmes/{}", p.code)) {
            label { (t(l, "title_en")) " " input name="title" value=(p.title) required maxlength="120"; }
            label { (t(l, "title_th")) " " input name="title_th" value=(p.title_th) maxlength="120"; }
            label { (t(l, "description_en")) br; textarea name="description" rows="3" cols="60" maxlength="2000" { (p.description) } }
            label { (t(l, "description_th")) br; textarea name="description_th" rows="3" cols="60" maxlength="2000" { (p.description_th) } }
            label { (t(l, "weeks_long")) " " input name="duration_weeks" type="number" min="1" max="260" value=(p.duration_weeks) required; }
            label { (t(l, "per_week")) " " input name="sessions_per_week" type="number" min="1" max="14" value=(p.sessions_per_week) required; }
            button id="save-programme" { (t(l, "save")) }
        }
        p { a href="/programmes" { (t(l, "back_catalogue")) } }
    };
    page(l, Some(&who), body).into_response()
}

async fn programme_create_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    let numbers = f
        .number("duration_weeks")
        .and_then(|w| Ok((w, f.number("sessions_per_week")?)));
    let new = match numbers {
        Ok((duration_weeks, sessions_per_week)) => NewProgramme {
            code: f.one("code"),
            title: f.one("title"),
            title_th: f.one("title_th"),
            category: f.one("category"),
            description: f.one("description"),
            description_th: f.one("description_th"),
            duration_weeks,
            sessions_per_week,
            certificate: None,
            accrediting_body: None,
            eligibility_notes: String::new(),
        },
        Err(e) => return refused(l, &who, e),
    };
    match api::create_programme(&admin, &who, new).await {
        Ok(_) => Redirect::to("/programmes").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn programme_edit_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: String,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    let numbers = f
        .number("duration_weeks")
        .and_then(|w| Ok((w, f.number("sessions_per_week")?)));
    let edit = match numbers {
        Ok((w, n)) => ProgrammeEdit {
            title: Some(f.one("title")),
            title_th: Some(f.one("title_th")),
            description: Some(f.one("description")),
            description_th: Some(f.one("description_th")),
            eligibility_notes: None,
            duration_weeks: Some(w),
            sessions_per_week: Some(n),
        },
        Err(e) => return refused(l, &who, e),
    };
    match api::edit_programme(&admin, &who, code, edit).await {
        Ok(_) => Redirect::to("/programmes").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn partners_page(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let (l, who) = match allowed(&admin, &headers, READERS).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let a = admin.clone();
    let partners =
        match blocking(move || Ok(api::list::<Partner>(&a, "national", Kind::Partner)?)).await {
            Ok(p) => p,
            Err(e) => return refused(l, &who, e),
        };
    let edit = who.role == AdminRole::NationalAdmin;
    let body = html! {
        h1 { (t(l, "partners")) }
        @if partners.is_empty() { p { (t(l, "no_partners")) } }
        @else {
            section { table {
                tr { th { (t(l, "partner")) } th { (t(l, "kind")) } th { (t(l, "services")) }
                     th { (t(l, "region")) } th { (t(l, "contact")) } th { (t(l, "status")) } th {} }
                @for p in &partners {
                    tr id=(format!("partner-{}", p.id)) {
                        td { (p.name) br; small { (p.id) } }
                        td { (t(l, &format!("kind_{}", partner_kind_code(p)))) }
                        td { (p.services.iter().cloned().collect::<Vec<_>>().join(", ")) }
                        td { (p.region) } td { (p.contact) }
                        td { @if p.active { span.ok { (t(l, "active")) } } @else { span.warn { (t(l, "inactive")) } } }
                        td { @if edit {
                            @let (what, key) = if p.active { ("deactivate", "deactivate") } else { ("activate", "activate") };
                            form.inline method="post" action=(format!("/ui/partners/{}/{what}", p.id)) {
                                button id=(format!("{what}-{}", p.id)) { (t(l, key)) }
                            }
                        } }
                    }
                }
            } }
        }
        @if edit {
            section {
                h2 { (t(l, "add_partner")) }
                form method="post" action="/ui/partners" {
                    label { (t(l, "partner_id")) " " input name="id" placeholder="namcot-housing" required maxlength="64"; }
                    label { (t(l, "partner")) " " input name="name" required maxlength="120"; }
                    label { (t(l, "kind")) " "
                        select name="kind" {
                            @for k in PARTNER_KINDS { option value=(k) { (t(l, &format!("kind_{k}"))) } }
                        }
                    }
                    label { (t(l, "services_one_a_line")) br; textarea name="services" rows="3" cols="40" required {} }
                    label { (t(l, "region")) " " input name="region" maxlength="80"; }
                    label { (t(l, "contact")) " " input name="contact" maxlength="200"; }
                    button id="add-partner" { (t(l, "add")) }
                }
            }
        }
    };
    page(l, Some(&who), body).into_response()
}

async fn partner_create_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let f = Fields::parse(&body);
    let new = NewPartner {
        id: f.one("id"),
        name: f.one("name"),
        kind: f.one("kind"),
        services: f
            .one("services")
            .split(['\n', ','])
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        region: f.one("region"),
        contact: f.one("contact"),
    };
    match api::create_partner(&admin, &who, new).await {
        Ok(_) => Redirect::to("/partners").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn partner_active_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path((id, what)): Path<(String, String)>,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let active = match what.as_str() {
        "activate" => true,
        "deactivate" => false,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match api::set_partner_active(&admin, &who, id, active).await {
        Ok(_) => Redirect::to("/partners").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

#[derive(Deserialize)]
struct Find {
    #[serde(default)]
    q: String,
}

async fn staff_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(find): Query<Find>,
) -> Response {
    let (l, who) = match allowed(&admin, &headers, READERS).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let a = admin.clone();
    let fid = id.clone();
    let read = blocking(move || {
        let f = a
            .store
            .get::<Facility>(&pathway_shared::model::facility_id(&fid))?
            .ok_or_else(|| {
                AdminError::not_found(format!(
                    "`{fid}` is not a facility in the national registry"
                ))
            })?;
        let staff = api::list::<StaffAccount>(&a, &format!("facility:{fid}"), Kind::StaffAccount)?;
        Ok((f, staff))
    })
    .await;
    let (facility, mut staff) = match read {
        Ok(r) => r,
        Err(e) => return refused(l, &who, e),
    };
    let q = find.q.trim().to_lowercase();
    staff.retain(|s| {
        q.is_empty()
            || s.username.to_lowercase().contains(&q)
            || s.display_name.to_lowercase().contains(&q)
    });
    staff.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    let edit = who.role == AdminRole::NationalAdmin;
    let body = html! {
        h1 { (t(l, "staff_accounts")) " — " (facility_name(l, &facility)) " (" (facility.id) ")" }
        form method="get" action=(format!("/facilities/{}/staff", facility.id)) {
            label { (t(l, "find")) " " input name="q" value=(find.q) placeholder=(t(l, "find_hint")); }
            button id="find-staff" { (t(l, "find")) }
        }
        @if staff.is_empty() { p { (t(l, "no_staff")) } }
        @else {
            section { table {
                tr { th { (t(l, "display_name")) } th { (t(l, "username")) } th { (t(l, "roles")) }
                     th { (t(l, "status")) } th {} }
                @for s in &staff {
                    @let base = format!("/ui/facilities/{}/staff/{}", facility.id, s.username);
                    tr id=(format!("staff-{}", s.username)) {
                        td { (s.display_name) }
                        td { (s.username) }
                        td {
                            @if edit {
                                form method="post" action=(format!("{base}/roles")) {
                                    @for (r, code) in STAFF_ROLES {
                                        label.inline { input type="checkbox" name="roles" value=(code) checked[s.roles.contains(&r)]; " " (role_word(l, r)) }
                                    }
                                    button { (t(l, "save_roles")) }
                                }
                            } @else {
                                (s.roles.iter().map(|r| role_word(l, *r)).collect::<Vec<_>>().join(", "))
                            }
                        }
                        td {
                            @if s.disabled { span.bad { (t(l, "disabled")) } }
                            @else if s.must_change_password { span.warn { (t(l, "otp_pending")) } }
                            @else { span.ok { (t(l, "active")) } }
                        }
                        td { @if edit {
                            form.inline method="post" action=(format!("{base}/{}", if s.disabled { "enable" } else { "disable" })) {
                                button { (t(l, if s.disabled { "enable" } else { "disable" })) }
                            }
                            " "
                            form.inline method="post" action=(format!("{base}/reset")) {
                                button id=(format!("reset-{}", s.username)) { (t(l, "reset_password")) }
                            }
                        } }
                    }
                }
            } }
        }
        @if edit {
            section {
                h2 { (t(l, "new_staff")) }
                form #new-staff method="post" action="/ui/staff" {
                    input type="hidden" name="facility" value=(facility.id);
                    label { (t(l, "username")) " " input name="username" required; }
                    label { (t(l, "display_name")) " " input name="display_name" required; }
                    fieldset {
                        legend { (t(l, "roles")) }
                        @for (r, code) in STAFF_ROLES {
                            label { input type="checkbox" name="roles" value=(code); " " (role_word(l, r)) }
                        }
                    }
                    button id="create-staff" { (t(l, "create")) }
                }
            }
        }
        p { a href="/facilities" { (t(l, "back_facilities")) } }
    };
    page(l, Some(&who), body).into_response()
}

/// Shows a one-time password once, after an account is made or its password reset.
pub(super) fn one_time_password_page(
    l: Lang,
    who: &AdminUser,
    v: &serde_json::Value,
    facility: &str,
) -> Response {
    let username = v["username"].as_str().unwrap_or_default();
    let body = html! {
        h1 { (t(l, "otp_title")) }
        p { (v["display_name"].as_str().unwrap_or_default()) " — " (username) " @ " (facility) }
        p { (t(l, "otp")) }
        p.otp id="otp" { (v["one_time_password"].as_str().unwrap_or_default()) }
        p { a href=(format!("/facilities/{facility}/staff")) { (t(l, "back_staff")) } }
    };
    (StatusCode::CREATED, page(l, Some(who), body)).into_response()
}

async fn staff_change_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path((id, username, what)): Path<(String, String, String)>,
    body: String,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let change = match what.as_str() {
        "roles" => StaffChange::Roles(Fields::parse(&body).all("roles")),
        "disable" => StaffChange::Disable,
        "enable" => StaffChange::Enable,
        "reset" => StaffChange::Reset,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let reset = matches!(change, StaffChange::Reset);
    match api::change_staff_account(&admin, &who, (id.clone(), username), change).await {
        Ok(v) if reset => one_time_password_page(l, &who, &v, &id),
        Ok(_) => Redirect::to(&format!("/facilities/{id}/staff")).into_response(),
        Err(e) => refused(l, &who, e),
    }
}

/// A new staff account, from the dashboard's form; shows its one-time password.
pub(super) async fn create_staff_from(
    admin: &Arc<Admin>,
    who: &AdminUser,
    l: Lang,
    body: &str,
) -> Response {
    let f = Fields::parse(body);
    let facility = f.one("facility");
    let new = NewStaff {
        username: f.one("username"),
        display_name: f.one("display_name"),
        roles: f.all("roles"),
    };
    match api::create_staff(admin, who, facility.clone(), new).await {
        Ok(v) => one_time_password_page(l, who, &v, &facility),
        Err(e) => refused(l, who, e),
    }
}
