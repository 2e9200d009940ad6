//! A software authenticator for the passkey tests: 1Password's `passkey-client` and
//! `passkey-authenticator` (not the verifier's own crates), speaking the W3C JSON the API
//! does, as a browser's `parseCreationOptionsFromJSON` and `credential.toJSON()` would.

use passkey_authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey_client::{Client, DefaultClientData};
use passkey_crypto::AvailableBackend;
use passkey_types::ctap2::make_credential::{
    Options, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity,
};
use passkey_types::ctap2::{Ctap2Error, StatusCode};
use passkey_types::webauthn::PublicKeyCredentialDescriptor;
use passkey_types::{Passkey, ctap2, webauthn};
use serde_json::Value;
use url::Url;

/// The passkeys an authenticator keeps, each discoverable: asked with no credential ids,
/// it offers every passkey of the relying party, as a platform authenticator does.
#[derive(Clone, Default)]
pub struct Keys(Vec<Passkey>);

#[async_trait::async_trait]
impl CredentialStore for Keys {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        ids: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        let wanted: Vec<&[u8]> = ids.into_iter().flatten().map(|d| d.id.as_slice()).collect();
        let found: Vec<Passkey> = self
            .0
            .iter()
            .filter(|key| key.rp_id == rp_id)
            .filter(|key| wanted.is_empty() || wanted.contains(&key.credential_id.as_slice()))
            .cloned()
            .collect();
        if found.is_empty() {
            return Err(Ctap2Error::NoCredentials.into());
        }
        Ok(found)
    }

    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: Options,
    ) -> Result<(), StatusCode> {
        self.0.push(cred);
        Ok(())
    }

    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), StatusCode> {
        for key in &mut self.0 {
            if key.credential_id == cred.credential_id {
                *key = cred.clone();
            }
        }
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo {
            discoverability: DiscoverabilitySupport::ForcedDiscoverable,
        }
    }
}

/// Whether the authenticator verifies its user (a PIN, a biometric) or only sees them.
#[derive(Debug, Clone, Copy)]
struct User {
    verifies: bool,
}

#[async_trait::async_trait]
impl UserValidationMethod for User {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        _verification: bool,
    ) -> Result<UserCheck, ctap2::Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification: self.verifies,
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    /// It claims it can verify, whether or not it does: the relying party must read the
    /// flag in what the authenticator signed.
    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

type SoftwareClient = Client<Keys, User, AvailableBackend, public_suffix::PublicSuffixList, ()>;

/// One authenticator, with the passkeys it made, at a page of `origin`.
pub struct SoftwareAuthenticator {
    client: SoftwareClient,
    origin: Url,
    verifies: bool,
}

impl SoftwareAuthenticator {
    /// An authenticator that keeps a signature counter and verifies its user.
    pub fn new(origin: &str) -> SoftwareAuthenticator {
        SoftwareAuthenticator::with(origin, Keys::default(), true)
    }

    /// One whose user is present but not verified: its answers leave the flag unset.
    pub fn without_user_verification(origin: &str) -> SoftwareAuthenticator {
        SoftwareAuthenticator::with(origin, Keys::default(), false)
    }

    fn with(origin: &str, store: Keys, verifies: bool) -> SoftwareAuthenticator {
        let mut authenticator = Authenticator::new(
            ctap2::Aaguid::new_empty(),
            store,
            User { verifies },
            AvailableBackend,
        );
        authenticator.set_make_credentials_with_signature_counter(true);
        SoftwareAuthenticator {
            client: Client::new(authenticator).allows_insecure_localhost(true),
            origin: Url::parse(origin).expect("an origin"),
            verifies,
        }
    }

    /// The same passkeys, counters and all, in another authenticator: a clone.
    pub fn copy(&self) -> SoftwareAuthenticator {
        let store = self.client.authenticator().store().clone();
        SoftwareAuthenticator::with(self.origin.as_str(), store, self.verifies)
    }

    /// The same passkeys at another page (another origin).
    pub fn at(&self, origin: &str) -> SoftwareAuthenticator {
        let store = self.client.authenticator().store().clone();
        SoftwareAuthenticator::with(origin, store, self.verifies)
    }

    /// `navigator.credentials.create({publicKey: parseCreationOptionsFromJSON(options)})`,
    /// as `toJSON()` gives it.
    pub async fn register(&mut self, options: &Value) -> Result<Value, String> {
        let public_key: webauthn::PublicKeyCredentialCreationOptions =
            serde_json::from_value(options.clone()).map_err(|e| format!("options: {e}"))?;
        let request = webauthn::CredentialCreationOptions { public_key };
        let created = self
            .client
            .register(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        serde_json::to_value(&created).map_err(|e| e.to_string())
    }

    /// `navigator.credentials.get({publicKey: parseRequestOptionsFromJSON(options)})`.
    pub async fn sign_in(&mut self, options: &Value) -> Result<Value, String> {
        let public_key: webauthn::PublicKeyCredentialRequestOptions =
            serde_json::from_value(options.clone()).map_err(|e| format!("options: {e}"))?;
        let request = webauthn::CredentialRequestOptions { public_key };
        let asserted = self
            .client
            .authenticate(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        serde_json::to_value(&asserted).map_err(|e| e.to_string())
    }
}
