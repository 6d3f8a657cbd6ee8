//! The facility registry's pages: every facility, and one to add or edit (names in English and
//! Thai, region, time zone, places, how long its gateway may go unlevel).

use super::*;

pub(super) fn zone_list() -> Markup {
    html! {
        datalist #zones { @for z in time_zone_names() { option value=(z) {} } }
    }
}

pub(super) async fn facilities_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
) -> Response {
    let (l, who) = match allowed(&admin, &headers, READERS).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let facilities = match national::<Facility>(&admin, Kind::Facility).await {
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

pub(super) async fn facility_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (l, who) = match allowed(&admin, &headers, &[AdminRole::NationalAdmin]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let doc = pathway_shared::model::facility_id(&id);
    let missing = format!("`{id}` is not a facility in the national registry");
    let f = match one::<Facility>(&admin, doc, missing).await {
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

pub(super) async fn facility_create_post(
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

pub(super) async fn facility_edit_post(
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
