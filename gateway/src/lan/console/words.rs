//! Codes, ids and times as people read them: dates as dates (the Buddhist year in Thai), times
//! at the facility, staff, partners and programmes by name.

use std::collections::HashMap;

use pathway_shared::model::{
    Millis, Partner, Programme, StaffAccount, parse_date, partner_id, programme_id, staff_id,
};
use pathway_shared::store::Store;

use crate::lan::messages::{Lang, t};

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_TH: [&str; 12] = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
];

/// "2 Dec 2026", "2 ธ.ค. 2569"; a value that is not an ISO date is shown as it is.
pub(super) fn date(l: Lang, iso: &str) -> String {
    match parse_date(iso) {
        Ok(d) => day(l, d),
        Err(_) => iso.to_owned(),
    }
}

fn day(l: Lang, d: time::Date) -> String {
    let m = usize::from(u8::from(d.month())) - 1;
    match l {
        Lang::En => format!("{} {} {}", d.day(), MONTHS_EN[m], d.year()),
        Lang::Th => format!("{} {} {}", d.day(), MONTHS_TH[m], d.year() + 543),
    }
}

/// A moment at the facility, `offset` minutes from UTC: "2 Dec 2026 14:05".
pub(super) fn when(l: Lang, at: Millis, offset: i32) -> String {
    let local = at.saturating_add(i64::from(offset) * 60_000);
    match time::OffsetDateTime::from_unix_timestamp(local.div_euclid(1_000)) {
        Ok(t) => format!("{} {:02}:{:02}", day(l, t.date()), t.hour(), t.minute()),
        Err(_) => String::new(),
    }
}

/// A code as words: `t(l, "{prefix}.{code}")`, or the code if there is no such string.
pub(super) fn code(l: Lang, prefix: &str, code: &str) -> String {
    match t(l, &format!("{prefix}.{code}")) {
        "?" => code.to_owned(),
        w => w.to_owned(),
    }
}

/// Names looked up once per page.
pub(super) struct Names<'a> {
    store: &'a Store,
    facility: &'a str,
    /// Programme titles are in this language where the catalogue has one.
    l: Lang,
    staff: HashMap<String, String>,
    partners: HashMap<String, Option<Partner>>,
    programmes: HashMap<String, String>,
}

impl<'a> Names<'a> {
    pub(super) fn new(store: &'a Store, facility: &'a str, l: Lang) -> Names<'a> {
        Names {
            store,
            facility,
            l,
            staff: HashMap::new(),
            partners: HashMap::new(),
            programmes: HashMap::new(),
        }
    }

    /// A staff member's name, or their username if the account is not here.
    pub(super) fn staff(&mut self, username: &str) -> String {
        let (store, facility) = (self.store, self.facility);
        self.staff
            .entry(username.to_owned())
            .or_insert_with(|| {
                store
                    .get::<StaffAccount>(&staff_id(facility, username))
                    .ok()
                    .flatten()
                    .map_or_else(|| username.to_owned(), |s| s.display_name)
            })
            .clone()
    }

    /// A partner organisation, if it is in the national registry here.
    pub(super) fn partner(&mut self, id: &str) -> Option<Partner> {
        let store = self.store;
        self.partners
            .entry(id.to_owned())
            .or_insert_with(|| store.get::<Partner>(&partner_id(id)).ok().flatten())
            .clone()
    }

    /// A partner's name, or its id.
    pub(super) fn partner_name(&mut self, id: &str) -> String {
        self.partner(id).map_or_else(|| id.to_owned(), |p| p.name)
    }

    /// A programme's title in the page's language, or its code.
    pub(super) fn programme(&mut self, code: &str) -> String {
        let (store, l) = (self.store, self.l);
        self.programmes
            .entry(code.to_owned())
            .or_insert_with(|| {
                store
                    .get::<Programme>(&programme_id(code))
                    .ok()
                    .flatten()
                    .map_or_else(
                        || code.to_owned(),
                        |p| {
                            if l == Lang::Th && !p.title_th.is_empty() {
                                p.title_th
                            } else {
                                p.title
                            }
                        },
                    )
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_dates_in_both_languages() {
        assert_eq!(date(Lang::En, "2026-12-02"), "2 Dec 2026");
        assert_eq!(date(Lang::Th, "2026-12-02"), "2 ธ.ค. 2569");
        assert_eq!(date(Lang::En, "soon"), "soon");
        // 2026-12-02 07:30 UTC is 14:30 in Bangkok.
        let at = 1_796_196_600_000;
        assert_eq!(when(Lang::En, at, 7 * 60), "2 Dec 2026 14:30");
    }
}
