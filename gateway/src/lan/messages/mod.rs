//! Every string the staff console shows, in English and Thai. A page asks for a key; a key
//! missing from a language falls back to English, and a test keeps both catalogues complete.

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Th,
}

impl Lang {
    pub fn from_code(code: &str) -> Lang {
        match code {
            "th" => Lang::Th,
            _ => Lang::En,
        }
    }

    /// The language a facility's console opens in before anyone chooses, by the facility's
    /// time zone: Thai in Thailand, English elsewhere.
    pub fn first_in(zone: Option<&str>) -> Lang {
        match zone {
            Some("Asia/Bangkok") => Lang::Th,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Th => "th",
        }
    }
}

mod en;
mod th;

pub(super) use en::EN;
pub(super) use th::TH;

/// The text for `key` in `lang`, or in English, or the key itself.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let find = |c: &'static [(&'static str, &'static str)]| {
        c.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    };
    let found = match lang {
        Lang::En => find(EN),
        Lang::Th => find(TH).or_else(|| find(EN)),
    };
    found.unwrap_or("?")
}

/// [`t`] with `{name}` placeholders filled.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key).to_owned();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_every_key() {
        fn keys(c: &[(&'static str, &'static str)]) -> Vec<&'static str> {
            let mut k: Vec<&str> = c.iter().map(|(k, _)| *k).collect();
            k.sort();
            k
        }
        assert_eq!(keys(EN), keys(TH));
        let mut unique = keys(EN);
        unique.dedup();
        assert_eq!(unique.len(), EN.len(), "a key is listed twice");
        assert_eq!(
            tf(Lang::Th, "sync.waiting", &[("n", "41")]),
            "รอส่ง 41 รายการ"
        );
    }
}
