//! How a certificate's expiry stands, and what to do about it: the gateway's own (status,
//! `pathway status`, `doctor`, the console), each gateway's as the hub saw it (the fleet), and
//! the hub's own (its status and dashboard).

use crate::model::Millis;

const DAY_MS: Millis = 86_400_000;

/// Whole days or part days left until `expires`, as people count them: a certificate made for 20
/// days has 20 left an hour later, and one ending this evening has 1.
pub fn days_left(expires: Millis, now: Millis) -> i64 {
    (expires - now + DAY_MS - 1).div_euclid(DAY_MS).max(0)
}

/// Days before expiry from which a certificate is reported as due for renewal.
pub const RENEW_AHEAD_DAYS: i64 = 30;

/// How a certificate's expiry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Valid,
    /// Within [`RENEW_AHEAD_DAYS`].
    Soon,
    Expired,
}

impl Expiry {
    /// How a certificate expiring at `expires` stands at `now`.
    pub fn of(expires: Millis, now: Millis) -> Expiry {
        if expires <= now {
            Expiry::Expired
        } else if expires - now < RENEW_AHEAD_DAYS * DAY_MS {
            Expiry::Soon
        } else {
            Expiry::Valid
        }
    }
}

/// How the certificate of `node` (a gateway id, or [`crate::sync::HUB`]), expiring at
/// `expires`, stands at `now`, with one sentence of advice for the people who look after it.
pub fn certificate_expiry(node: &str, expires: Millis, now: Millis) -> (Expiry, String) {
    let date = crate::model::date_of_ms(expires);
    let days = match days_left(expires, now) {
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    };
    let state = Expiry::of(expires, now);
    let gateway = node;
    let renew_hub = "at the CA run `pathway ca renew-cert hub.pem` on a copy of the hub's certificate (same name and key), put it back and reload pathway-hub (`systemctl reload pathway-hub`: no session is cut)";
    let advice = match state {
        _ if node == crate::sync::HUB => match state {
            Expiry::Expired => format!(
                "the hub's certificate expired on {date}: every gateway refuses the hub; {renew_hub}"
            ),
            Expiry::Soon => format!(
                "the hub's certificate expires on {date}, in {days}, and every gateway then refuses the hub: {renew_hub}"
            ),
            Expiry::Valid => format!("the hub's certificate is valid until {date}"),
        },
        Expiry::Expired => format!(
            "this gateway's certificate expired on {date}: the hub refuses it; take a copy of its certificate file (never its key) to the national admin, who renews it with `pathway ca renew-cert`, and install it here with `pathway install-cert FILE`"
        ),
        Expiry::Soon => format!(
            "this gateway's certificate expires on {date}, in {days}: ask the national admin to run `pathway ca renew {gateway}`; the gateway takes the new one over the link"
        ),
        Expiry::Valid => format!("this gateway's certificate is valid until {date}"),
    };
    (state, advice)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Millis = 86_400_000;

    #[test]
    fn a_certificate_is_reported_due_thirty_days_ahead() {
        let now = 1_800_000_000_000; // 2027-01-15
        let (state, said) = certificate_expiry("gw-whk01-a", now + 200 * DAY, now);
        assert_eq!(state, Expiry::Valid);
        assert!(said.contains("valid until 2027-08-03"), "{said}");

        let (state, said) = certificate_expiry("gw-whk01-a", now + 12 * DAY - 3_600_000, now);
        assert_eq!(state, Expiry::Soon);
        assert!(said.contains("in 12 days"), "{said}");
        let (_, said) = certificate_expiry("gw-whk01-a", now + 3_600_000, now);
        assert!(said.contains("in 1 day:"), "{said}");
        assert!(said.contains("pathway ca renew gw-whk01-a"), "{said}");

        let (state, _) = certificate_expiry("gw-whk01-a", now + RENEW_AHEAD_DAYS * DAY, now);
        assert_eq!(state, Expiry::Valid, "exactly 30 days ahead is not yet due");
        let (state, said) =
            certificate_expiry("gw-whk01-a", now + RENEW_AHEAD_DAYS * DAY - 60_000, now);
        assert_eq!(state, Expiry::Soon, "a minute less is");
        assert!(said.contains("in 30 days"), "{said}");

        let (state, said) = certificate_expiry("gw-whk01-a", now - DAY, now);
        assert_eq!(state, Expiry::Expired);
        assert!(said.contains("expired on 2027-01-14"), "{said}");

        let (state, said) = certificate_expiry(crate::sync::HUB, now + 3 * DAY, now);
        assert_eq!(state, Expiry::Soon);
        assert!(
            said.contains("hub's certificate expires on 2027-01-18, in 3 days")
                && said.contains("pathway ca renew-cert hub.pem"),
            "{said}"
        );
    }
}
