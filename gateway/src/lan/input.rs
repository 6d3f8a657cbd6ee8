//! Checks every form and request field passes before anything is written: free text has a
//! length limit, holds visible text and no control or direction-override characters; dates are
//! ISO dates within a plausible range; codes are one of their enum's. Each refusal names the
//! field and says what is wrong in words the console can show in Thai.

use pathway_shared::model::{from_code, iso_date, parse_date};

use super::{ApiError, ApiResult};

/// Characters that reorder or hide text: direction overrides and isolates, zero-width marks.
fn hidden(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}'..='\u{200f}' | '\u{feff}')
}

/// One line of text (a name, a number, a place), trimmed, at most `max` characters.
pub fn line(field: &str, value: &str, max: usize) -> ApiResult<String> {
    text(field, value, max, false)
}

/// Free text over several lines (a note, a reason), trimmed, at most `max` characters.
pub fn prose(field: &str, value: &str, max: usize) -> ApiResult<String> {
    text(field, value, max, true)
}

fn text(field: &str, value: &str, max: usize, lines: bool) -> ApiResult<String> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(ApiError::field_words(
            field,
            "input.too_long",
            vec![("max", max.to_string())],
        ));
    }
    let bad = v
        .chars()
        .find(|&c| hidden(c) || (c.is_control() && !(lines && matches!(c, '\n' | '\r' | '\t'))));
    if let Some(c) = bad {
        return Err(ApiError::field_words(
            field,
            "input.bad_char",
            vec![("code", format!("U+{:04X}", u32::from(c)))],
        ));
    }
    if !v.chars().any(|c| !c.is_whitespace()) {
        return Err(ApiError::field_words(field, "input.empty", vec![]));
    }
    Ok(v.to_owned())
}

/// An optional line: empty means none.
pub fn optional_line(field: &str, value: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => line(field, v, max).map(Some),
    }
}

/// The earliest and latest dates Pathway takes: nobody held was born before 1900, and no
/// sentence runs past 2200.
const FIRST_YEAR: i32 = 1900;
const LAST_YEAR: i32 = 2200;

/// An ISO date (`2026-11-23`) within the years Pathway takes.
pub fn date(field: &str, value: &str) -> ApiResult<time::Date> {
    let v = value.trim();
    match parse_date(v) {
        Ok(d) if (FIRST_YEAR..=LAST_YEAR).contains(&d.year()) => Ok(d),
        Ok(_) => Err(ApiError::field_words(
            field,
            "input.date_range",
            vec![
                ("first", FIRST_YEAR.to_string()),
                ("last", LAST_YEAR.to_string()),
            ],
        )),
        Err(_) => Err(ApiError::field_words(
            field,
            "input.date",
            vec![("value", v.chars().take(40).collect())],
        )),
    }
}

/// An optional ISO date, as stored: empty means none.
pub fn optional_date(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => date(field, v).map(|d| Some(iso_date(d))),
    }
}

/// A code of `T` (`sentenced`, `high`), or a refusal listing the codes taken.
pub fn code<T: serde::de::DeserializeOwned>(
    field: &str,
    value: &str,
    codes: &[&str],
) -> ApiResult<T> {
    from_code(value.trim()).ok_or_else(|| not_a_code(field, value, codes))
}

/// One of `codes` (`sick`, `settled`), or a refusal listing them.
pub fn one_of(field: &str, value: &str, codes: &[&'static str]) -> ApiResult<&'static str> {
    let v = value.trim();
    codes
        .iter()
        .find(|c| **c == v)
        .copied()
        .ok_or_else(|| not_a_code(field, value, codes))
}

fn not_a_code(field: &str, value: &str, codes: &[&str]) -> ApiError {
    ApiError::field_words(
        field,
        "input.code",
        vec![
            ("value", value.chars().take(40).collect()),
            ("codes", codes.join(", ")),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_must_be_visible_bounded_and_plain() {
        assert_eq!(line("f", "  Anna  ", 10).unwrap(), "Anna");
        for bad in ["", "   ", "\u{200b}\u{200b}", "a\u{202e}b", "a\0b", "a\nb"] {
            let e = line("name", bad, 10).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("name"), "{bad:?}");
        }
        assert!(prose("note", "two\nlines", 20).is_ok());
        assert!(line("f", &"x".repeat(11), 10).is_err());
        assert!(line("f", "สมชาย ใจดี", 10).is_ok());
    }

    #[test]
    fn dates_are_iso_and_plausible() {
        assert!(date("d", "2026-11-23").is_ok());
        for bad in ["9999-12-31", "1800-01-01", "23/11/2026", "2026-02-30"] {
            assert!(date("d", bad).is_err(), "{bad}");
        }
        assert_eq!(optional_date("d", Some(" ")).unwrap(), None);
    }
}
