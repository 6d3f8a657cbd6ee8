//! The facility's staff accounts, for the facility manager and facility IT: each one's roles
//! (set nationally), and a new one-time password given here when someone forgets theirs, so a
//! forgotten password never waits for the link.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use pathway_shared::model::{Kind, StaffAccount};

use super::{Viewer, fail, page};
use crate::lan::messages::t;
use crate::lan::password::{RESETTERS, reset};
use crate::lan::{ApiError, Lan, blocking};

pub(super) async fn staff_page(State(lan): State<Arc<Lan>>, Viewer { who, l }: Viewer) -> Response {
    if !who.has(RESETTERS) {
        let e = ApiError::forbidden("only the facility manager or facility IT sees this page");
        return fail(&lan, l, Some(&who), e);
    }
    let lan2 = lan.clone();
    let read = blocking(move || {
        let mut all = Vec::new();
        for id in lan2
            .store
            .list(&format!("facility:{}", lan2.facility), Kind::StaffAccount)?
        {
            if let Some(a) = lan2.store.get::<StaffAccount>(&id)? {
                // Details or a one-time password set here and at the hub apart.
                let contested = lan2
                    .store
                    .read(&id, |d, _| {
                        ["password_hash", "display_name", "disabled"]
                            .iter()
                            .any(|k| {
                                automerge::ReadDoc::get_all(d, automerge::ROOT, *k)
                                    .is_ok_and(|v| v.len() > 1)
                            })
                    })?
                    .unwrap_or(false);
                all.push((a, contested));
            }
        }
        all.sort_by(|a, b| a.0.display_name.cmp(&b.0.display_name));
        Ok(all)
    })
    .await;
    let staff = match read {
        Ok(s) => s,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let body = html! {
        p { (t(l, "staff.note")) }
        table id="staff" {
            tr { th { (t(l, "staff.name")) } th { (t(l, "login.username")) } th { (t(l, "staff.status")) } th {} }
            @for (a, contested) in &staff {
                tr id={ "staff-" (a.username) } {
                    td {
                        (a.display_name)
                        @if *contested { br; span.due.contested { "▲ " (t(l, "staff.contested")) } }
                    }
                    td { (a.username) }
                    td {
                        @if a.disabled { (t(l, "staff.disabled")) }
                        @else if a.must_change_password { (t(l, "staff.otp_pending")) }
                        @else { (t(l, "staff.active")) }
                    }
                    td {
                        @if a.username != who.username && !a.disabled {
                            form.inline method="post" action={ "/staff/" (a.username) "/reset" } {
                                button id={ "reset-" (a.username) } type="submit" { (t(l, "staff.reset")) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&lan, l, Some(&who), t(l, "staff.title"), body).into_response()
}

pub(super) async fn reset_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(username): Path<String>,
) -> Response {
    match reset(lan.clone(), who.clone(), username.clone()).await {
        Ok(otp) => {
            let id = pathway_shared::model::staff_id(&lan.facility, &username);
            let name = lan
                .store
                .get::<StaffAccount>(&id)
                .ok()
                .flatten()
                .map_or_else(|| username.clone(), |a| a.display_name);
            let body = html! {
                p { strong { (name) } " (" (username) ")" }
                p { (t(l, "staff.otp_give")) }
                p id="otp" style="font-size:1.6em;font-family:monospace" { (otp) }
                p { a href="/staff" { (t(l, "staff.back")) } }
            };
            (
                StatusCode::OK,
                page(&lan, l, Some(&who), t(l, "staff.otp_title"), body),
            )
                .into_response()
        }
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}
