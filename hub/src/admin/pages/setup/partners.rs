//! The partners' page: every organisation people are referred to, one to add, deactivate or
//! make active again (never delete).

use super::*;

pub(super) const PARTNER_KINDS: [&str; 4] = ["ngo", "employer", "housing_provider", "clinic"];

pub(super) fn partner_kind_code(p: &Partner) -> &'static str {
    match p.kind {
        pathway_shared::model::PartnerKind::Ngo => "ngo",
        pathway_shared::model::PartnerKind::Employer => "employer",
        pathway_shared::model::PartnerKind::HousingProvider => "housing_provider",
        pathway_shared::model::PartnerKind::Clinic => "clinic",
    }
}

pub(super) async fn partners_page(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let (l, who) = match allowed(&admin, &headers, READERS).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let partners = match national::<Partner>(&admin, Kind::Partner).await {
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

pub(super) async fn partner_create_post(
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

pub(super) async fn partner_active_post(
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
