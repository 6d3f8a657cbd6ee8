//! The programme catalogue's pages: every programme, one to add or edit (titles and
//! descriptions in English and Thai), withdraw (never delete).

use super::*;

pub(super) fn programme_title(l: Lang, p: &Programme) -> &str {
    if l == Lang::Th && !p.title_th.is_empty() {
        &p.title_th
    } else {
        &p.title
    }
}

pub(super) const CATEGORIES: [&str; 8] = [
    "education",
    "vocational",
    "work",
    "accredited_behavioural",
    "mental_health",
    "substance_use",
    "family",
    "faith",
];

pub(super) fn category_code(p: &Programme) -> String {
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

pub(super) async fn programmes_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
) -> Response {
    let (l, who) = match allowed(&admin, &headers, READERS).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let programmes = match national::<Programme>(&admin, Kind::Programme).await {
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

pub(super) async fn programme_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let (l, who) = match allowed(&admin, &headers, &[AdminRole::NationalAdmin]).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let doc = pathway_shared::model::programme_id(&code);
    let missing = format!("the catalogue has no programme `{code}`");
    let p = match one::<Programme>(&admin, doc, missing).await {
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

pub(super) async fn programme_create_post(
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

pub(super) async fn programme_edit_post(
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
