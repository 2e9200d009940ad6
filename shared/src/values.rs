//! Parameter values that carry their own rules: an email address, a phone number, a
//! calendar date, a name, a coordinate. Reading one is validating it.

use crate::domain::{Application, Email, RECOVERY_CODE, SecondFactorCode, TOTP_CODE};
use crate::error::ApiError;
use crate::params::{Invalid, Param, Params, describe};
use serde_json::Value;

fn text(value: Value) -> Result<String, Invalid> {
    String::from_value(value)
}

/// Trimmed text that is neither blank nor longer than `max` characters.
fn bounded_text(value: Value, max: usize) -> Result<String, Invalid> {
    let raw = text(value)?;
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Invalid::new("must not be blank (send null to clear it)"));
    }
    if trimmed.chars().count() > max {
        return Err(Invalid::new(format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Invalid::new("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A positive integer id of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordId(pub i64);

impl Param for RecordId {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match i64::from_value(value)? {
            id if id > 0 => Ok(RecordId(id)),
            _ => Err(Invalid::new("must be a positive integer")),
        }
    }
}

/// An end user's IP address (v4 or v6), as an application's server passes it: kept in
/// its canonical form, so that one address is counted as one however it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl Param for ClientIp {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let text = String::from_value(value)?;
        text.trim()
            .parse::<std::net::IpAddr>()
            .map(|ip| ClientIp(ip.to_canonical().to_string()))
            .map_err(|_| Invalid::new("must be an IPv4 or IPv6 address"))
    }
}

/// A slug naming reference data: lower-case letters, digits, `-` and `_`, 1 to 64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(pub String);

impl Param for Slug {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let slug = text(value)?;
        let valid = (1..=64).contains(&slug.len())
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Slug(slug))
        } else {
            Err(Invalid::new(
                "must be a slug: lower-case letters, digits, - and _",
            ))
        }
    }
}

/// A short piece of text such as a name or a street: trimmed, 1 to 200 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl Param for Text {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        bounded_text(value, 200).map(Text)
    }
}

/// A passkey's name: trimmed, 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(pub String);

impl Param for PasskeyName {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        bounded_text(value, crate::domain::MAX_NAME_CHARS).map(PasskeyName)
    }
}

/// An authenticator's answer as the browser's `credential.toJSON()` gives it: an object,
/// which the relying party reads.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialJson(pub Value);

impl Param for CredentialJson {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match value {
            Value::Object(_) => Ok(CredentialJson(value)),
            other => Err(Invalid::new(format!(
                "must be an object (the credential's toJSON()), not {}",
                describe(&other)
            ))),
        }
    }
}

/// A TOTP code as typed: the 6 digits an authenticator app shows (spaces left out).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(pub String);

impl Param for TotpCode {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let digits: String = text(value)?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(
                "must be the 6 digits the authenticator app shows",
            ));
        }
        Ok(TotpCode(digits))
    }
}

/// A recovery code as typed (its letters are checked against the account's).
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(pub String);

impl Param for RecoveryCode {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let code = text(value)?;
        if code.trim().is_empty() || code.chars().count() > 64 {
            return Err(Invalid::new("must be one of the account's recovery codes"));
        }
        Ok(RecoveryCode(code))
    }
}

/// The second-factor code a route takes: `totp_code` or `recovery_code`, exactly one.
pub fn second_factor_code(params: &mut Params) -> Result<SecondFactorCode, ApiError> {
    let totp = params.optional::<TotpCode>(TOTP_CODE)?;
    let recovery = params.optional::<RecoveryCode>(RECOVERY_CODE)?;
    match (totp, recovery) {
        (Some(code), None) => Ok(SecondFactorCode::Totp(code.0)),
        (None, Some(code)) => Ok(SecondFactorCode::RecoveryCode(code.0)),
        (None, None) => Err(ApiError::missing(TOTP_CODE)),
        (Some(_), Some(_)) => Err(ApiError::invalid(
            RECOVERY_CODE,
            "comes with `totp_code`: send one of them",
        )),
    }
}

impl Param for Email {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        Email::parse(&text(value)?).map_err(Invalid::new)
    }
}

impl Param for Application {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let slug = String::from_value(value)?;
        Application::from_slug(&slug)
            .ok_or_else(|| Invalid::new("must be one of planoauth, planoorder, planox2"))
    }
}

/// A phone number: digits with the usual separators, 7 to 15 digits (E.164's limit),
/// an optional leading `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(pub String);

impl Param for Phone {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let raw = bounded_text(value, 32)?;
        let body = raw.strip_prefix('+').unwrap_or(&raw);
        let allowed = body
            .chars()
            .all(|c| c.is_ascii_digit() || " -.()".contains(c));
        let digits = body.chars().filter(char::is_ascii_digit).count();
        if allowed && (7..=15).contains(&digits) {
            Ok(Phone(raw))
        } else {
            Err(Invalid::new(
                "must be a phone number of 7 to 15 digits (separators and a leading + allowed)",
            ))
        }
    }
}

/// A calendar date written `YYYY-MM-DD` (ISO 8601). Ordered like the dates it names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoDate(String);

impl IsoDate {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let invalid = || Invalid::new("must be a date written YYYY-MM-DD");
        let bytes = raw.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(invalid());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, Invalid> {
            let part = &raw[range];
            if part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().map_err(|_| invalid())
            } else {
                Err(invalid())
            }
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(Invalid::new("has no such month")),
        };
        if year < 1900 || !(1..=days_in_month).contains(&day) {
            return Err(Invalid::new("is not a real calendar date"));
        }
        Ok(IsoDate(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Param for IsoDate {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        IsoDate::parse(&text(value)?)
    }
}

/// A latitude in degrees, given as a number or a numeric string; kept as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Latitude(pub String);

/// A longitude in degrees, given as a number or a numeric string; kept as text.
#[derive(Debug, Clone, PartialEq)]
pub struct Longitude(pub String);

fn degrees(value: Value, limit: f64) -> Result<String, Invalid> {
    let text = match &value {
        // JSON numbers print in exponent form when small (1e-7): kept as decimal text.
        Value::Number(number) => number
            .as_f64()
            .map(|degrees| degrees.to_string())
            .unwrap_or_default(),
        Value::String(text) => text.trim().to_owned(),
        other => {
            return Err(Invalid::new(format!(
                "must be a number of degrees, not {}",
                describe(other)
            )));
        }
    };
    // Text must be plain decimal: no exponent, no infinity or NaN.
    let parsed: f64 = text
        .parse()
        .ok()
        .filter(|d: &f64| d.is_finite() && !text.contains(['e', 'E', 'i', 'n', 'N']))
        .ok_or_else(|| Invalid::new("must be a decimal number of degrees"))?;
    if parsed.abs() > limit {
        return Err(Invalid::new(format!(
            "must be between -{limit} and {limit}"
        )));
    }
    Ok(text)
}

impl Param for Latitude {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        degrees(value, 90.0).map(Latitude)
    }
}

impl Param for Longitude {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        degrees(value, 180.0).map(Longitude)
    }
}

/// ISO 639-1 language codes.
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co \
    cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi \
    ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw \
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc \
    oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv \
    sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// A language, as its ISO 639-1 abbreviation (`en`, `es`, `fr`), stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(pub String);

impl Param for Language {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let code = text(value)?.trim().to_ascii_lowercase();
        if code.len() == 2 && LANGUAGES.split_whitespace().any(|known| known == code) {
            Ok(Language(code))
        } else {
            Err(Invalid::new(
                "must be an ISO 639-1 language code such as en or es",
            ))
        }
    }
}

/// A list of skills: at most 50 distinct short texts, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skills(pub Vec<String>);

impl Param for Skills {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        let items: Vec<Value> = Vec::from_value(value)?;
        if items.len() > 50 {
            return Err(Invalid::new("must hold at most 50 skills"));
        }
        let mut skills: Vec<String> = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let skill = bounded_text(item, 100)
                .map_err(|invalid| Invalid::in_field(index.to_string(), invalid.reason))?;
            if !skills
                .iter()
                .any(|known| known.eq_ignore_ascii_case(&skill))
            {
                skills.push(skill);
            }
        }
        Ok(Skills(skills))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_client_ip_is_an_address_in_its_canonical_form() {
        let ip = |value: Value| ClientIp::from_value(value).map(|ip| ip.0);
        assert_eq!(ip(json!(" 203.0.113.9 ")), Ok("203.0.113.9".into()));
        assert_eq!(ip(json!("2001:DB8:0::1")), Ok("2001:db8::1".into()));
        assert_eq!(ip(json!("::ffff:203.0.113.9")), Ok("203.0.113.9".into()));
        for bad in [json!("203.0.113"), json!("localhost"), json!(""), json!(7)] {
            assert!(ip(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for good in ["+1 (555) 010-9999", "555.010.9999", "0612345678"] {
            assert!(Phone::from_value(json!(good)).is_ok(), "{good}");
        }
        for bad in [
            "12345",
            "call me",
            "+1 555 010 9999 ext 5",
            "1234567890123456",
        ] {
            assert!(Phone::from_value(json!(bad)).is_err(), "{bad}");
        }
        assert!(Phone::from_value(json!(5550109999_i64)).is_err());
    }

    #[test]
    fn dates() {
        assert!(IsoDate::parse("2024-02-29").is_ok());
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-04-31",
            "24-01-01",
            "2024/01/01",
            "2024-1-01",
            "yesterday",
        ] {
            assert!(IsoDate::parse(bad).is_err(), "{bad}");
        }
        assert!(IsoDate::parse("2024-01-31").ok() < IsoDate::parse("2024-02-01").ok());
    }

    #[test]
    fn coordinates() {
        assert_eq!(
            Latitude::from_value(json!("40.7128")).ok(),
            Some(Latitude("40.7128".into()))
        );
        assert_eq!(
            Longitude::from_value(json!(-74.006)).ok(),
            Some(Longitude("-74.006".into()))
        );
        assert!(Latitude::from_value(json!("91")).is_err());
        assert!(Longitude::from_value(json!("-180.5")).is_err());
        assert!(Latitude::from_value(json!("north")).is_err());
        assert!(Latitude::from_value(json!("NaN")).is_err());
        assert!(Latitude::from_value(json!("1e1")).is_err());
        assert_eq!(
            Latitude::from_value(json!(0.0000001)).ok(),
            Some(Latitude("0.0000001".into())),
            "a small JSON number is a number, however it prints"
        );
        assert_eq!(
            Longitude::from_value(json!(-1e-7)).ok(),
            Some(Longitude("-0.0000001".into()))
        );
        assert!(Latitude::from_value(json!(1e3)).is_err());
        assert!(Latitude::from_value(json!(true)).is_err());
    }

    #[test]
    fn languages() {
        assert_eq!(
            Language::from_value(json!("EN")).ok(),
            Some(Language("en".into()))
        );
        for bad in ["english", "zz", "e", ""] {
            assert!(Language::from_value(json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn texts_and_skills() {
        assert_eq!(
            Text::from_value(json!("  Ada ")).ok(),
            Some(Text("Ada".into()))
        );
        assert!(Text::from_value(json!("   ")).is_err());
        assert!(Text::from_value(json!("x".repeat(201))).is_err());
        assert_eq!(
            Skills::from_value(json!(["Portraits", "drone", "portraits"])).ok(),
            Some(Skills(vec!["Portraits".into(), "drone".into()]))
        );
        let err = Skills::from_value(json!(["ok", ""])).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("1"));
    }
}
