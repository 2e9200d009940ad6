/// An email address, kept as given (trimmed) and compared case-insensitively: two users
/// never share one in its lower-cased form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// The address, or why it is not one.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let address = raw.trim();
        let invalid = "is not a valid email address";
        if address.len() > 254 {
            return Err("must be at most 254 characters");
        }
        let (local, domain) = address.rsplit_once('@').ok_or(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Email(address.to_owned()))
        } else {
            Err(invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is decided on.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in [
            "ada@example.com",
            "a.b+tag@sub.example.co",
            " Ada@Example.COM ",
        ] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada..b@example.com",
            "ada@exa_mple.com",
            "ada@-example.com",
            "a da@example.com",
            "ada@example.c0m",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Email::parse(" Ada@Example.COM ")
                .map(|e| e.normalized())
                .ok()
                .as_deref(),
            Some("ada@example.com")
        );
    }
}
