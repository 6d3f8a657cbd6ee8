//! A facility's staff accounts: find, create with a one-time password, roles, disable, enable,
//! reset the password.

use super::*;

#[derive(Deserialize)]
pub(super) struct Find {
    #[serde(default)]
    q: String,
}

pub(super) async fn staff_page(
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

pub(super) async fn staff_change_post(
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
pub(crate) async fn create_staff_from(
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
