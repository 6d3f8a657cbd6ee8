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

mod facilities;
mod partners;
mod programmes;
mod staff;

use facilities::*;
use partners::*;
use programmes::*;
use staff::*;

use crate::admin::api::{
    self, FacilityEdit, NewFacility, NewPartner, NewProgramme, NewStaff, ProgrammeEdit, StaffChange,
};
use crate::admin::words::{Lang, lang, role_word, t};
use crate::admin::{Admin, AdminError, AdminRole, AdminUser, blocking};
pub(super) use staff::create_staff_from;

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

/// Every national document of `kind`, read off the async threads.
async fn national<T: pathway_shared::model::Aggregate + Send + 'static>(
    admin: &Arc<Admin>,
    kind: Kind,
) -> Result<Vec<T>, AdminError> {
    let a = admin.clone();
    blocking(move || Ok(api::list::<T>(&a, "national", kind)?)).await
}

/// The document `id`, or a 404 saying `missing`.
async fn one<T: pathway_shared::model::Aggregate + Send + 'static>(
    admin: &Arc<Admin>,
    id: pathway_shared::model::DocId,
    missing: String,
) -> Result<T, AdminError> {
    let a = admin.clone();
    blocking(move || {
        a.store
            .get::<T>(&id)?
            .ok_or_else(|| AdminError::not_found(missing))
    })
    .await
}

const READERS: &[AdminRole] = &[AdminRole::NationalAdmin, AdminRole::Auditor];
