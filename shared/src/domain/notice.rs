//! Security notices: what an account's owner is told after a change to how the account
//! signs in or is recovered, so that a change they did not make does not go unseen.

/// One kind of security notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityNotice {
    /// The owner changed the password with the current one.
    PasswordChanged,
    /// The password was set with a reset link.
    PasswordReset,
    /// To the old address: the account signs in with another one now.
    AddressChangedFrom,
    /// To the new address: it signs in to an account now.
    AddressChangedTo,
    /// A passkey was added to the account.
    PasskeyAdded,
    /// A passkey was removed from the account.
    PasskeyRemoved,
    /// A sign-in with one of the account's passkeys was refused: its signature counter
    /// went backwards, as a copy of the passkey's would.
    PasskeyCounterRegressed,
    /// TOTP was turned on for the account.
    TotpEnabled,
    /// TOTP was turned off, and the recovery codes with it.
    TotpDisabled,
    /// A new set of recovery codes replaced the old one.
    RecoveryCodesRegenerated,
    /// One of the account's recovery codes was used.
    RecoveryCodeUsed,
    /// A TOTP code that had been used already was refused: someone else may have seen it,
    /// and knows the password.
    TotpCodeReused,
}

impl SecurityNotice {
    pub const ALL: [SecurityNotice; 12] = [
        SecurityNotice::PasswordChanged,
        SecurityNotice::PasswordReset,
        SecurityNotice::AddressChangedFrom,
        SecurityNotice::AddressChangedTo,
        SecurityNotice::PasskeyAdded,
        SecurityNotice::PasskeyRemoved,
        SecurityNotice::PasskeyCounterRegressed,
        SecurityNotice::TotpEnabled,
        SecurityNotice::TotpDisabled,
        SecurityNotice::RecoveryCodesRegenerated,
        SecurityNotice::RecoveryCodeUsed,
        SecurityNotice::TotpCodeReused,
    ];

    pub const fn slug(self) -> &'static str {
        match self {
            SecurityNotice::PasswordChanged => "password-changed",
            SecurityNotice::PasswordReset => "password-reset-done",
            SecurityNotice::AddressChangedFrom => "address-changed-from",
            SecurityNotice::AddressChangedTo => "address-changed-to",
            SecurityNotice::PasskeyAdded => "passkey-added",
            SecurityNotice::PasskeyRemoved => "passkey-removed",
            SecurityNotice::PasskeyCounterRegressed => "passkey-counter-regressed",
            SecurityNotice::TotpEnabled => "totp-enabled",
            SecurityNotice::TotpDisabled => "totp-disabled",
            SecurityNotice::RecoveryCodesRegenerated => "recovery-codes-regenerated",
            SecurityNotice::RecoveryCodeUsed => "recovery-code-used",
            SecurityNotice::TotpCodeReused => "totp-code-reused",
        }
    }

    pub fn from_slug(slug: &str) -> Option<SecurityNotice> {
        SecurityNotice::ALL
            .into_iter()
            .find(|notice| notice.slug() == slug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_differ() {
        let mut slugs: Vec<&str> = SecurityNotice::ALL.iter().map(|n| n.slug()).collect();
        for notice in SecurityNotice::ALL {
            assert_eq!(SecurityNotice::from_slug(notice.slug()), Some(notice));
        }
        slugs.dedup();
        assert_eq!(slugs.len(), SecurityNotice::ALL.len());
    }
}
