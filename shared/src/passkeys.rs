//! The WebAuthn relying party: passkey ceremonies on `webauthn-rs`, with the W3C
//! WebAuthn Level 3 JSON on the wire (what a browser's `parseCreationOptionsFromJSON`,
//! `parseRequestOptionsFromJSON` and `credential.toJSON()` take and give). Ceremony state
//! leaves here as JSON for the caller to keep server-side; nothing here does I/O.
//!
//! Every passkey is a discoverable credential that verified its user (a PIN or a
//! biometric): registration asks for a resident key and user verification, and sign-in
//! is one discoverable ceremony, whether or not the caller named an account (the
//! account's credentials are then offered as `allowCredentials`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
    WebauthnError,
};

/// The variables a passkey function reads: the relying party's id (a registrable domain,
/// `localhost` locally) and the origins its pages are served from, comma-separated, each
/// matched exactly (scheme, host and port).
pub const RP_ID_VARIABLE: &str = "PASSKEY_RP_ID";
pub const ORIGINS_VARIABLE: &str = "PASSKEY_ORIGINS";

/// Why a ceremony's answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// It is not an answer of this kind, or does not verify (the origin, the relying
    /// party, the challenge, the signature, user verification).
    #[error("{0}")]
    Credential(String),
    /// The authenticator's signature counter did not increase past the stored one: the
    /// credential may have been copied.
    #[error("the authenticator's signature counter did not increase")]
    CounterRegressed,
}

/// A passkey a registration verified, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    /// The credential id, base64url without padding: how the API names the passkey.
    pub id: String,
    /// What verifies its assertions (`webauthn-rs`'s credential: the public key, the
    /// counter, the flags), as JSON. A public key: no secret.
    pub key: String,
    pub counter: u32,
    pub backed_up: bool,
}

/// A passkey after a sign-in it verified: what to store back.
#[derive(Debug, Clone, PartialEq)]
pub struct Used {
    pub key: String,
    pub counter: u32,
    pub backed_up: bool,
}

/// The credential an assertion names, before it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asserted {
    /// Base64url without padding.
    pub id: String,
    /// The account's user handle, as the authenticator keeps it.
    pub user_handle: Option<Uuid>,
}

#[derive(Clone)]
pub struct RelyingParty {
    webauthn: Webauthn,
    /// The key of the made-up credential ids ([`decoy_credentials`]), once this process
    /// has read it from where it is kept.
    decoy_key: std::sync::OnceLock<Vec<u8>>,
}

impl RelyingParty {
    /// A relying party for `rp_id`, accepting ceremonies from `origins` (at least one).
    pub fn new(rp_id: &str, origins: &[&str]) -> Result<RelyingParty, String> {
        let parsed: Vec<Url> = origins
            .iter()
            .map(|origin| Url::parse(origin).map_err(|e| format!("origin `{origin}`: {e}")))
            .collect::<Result<_, _>>()?;
        let (first, more) = parsed
            .split_first()
            .ok_or("a relying party needs at least one origin")?;
        let mut builder = WebauthnBuilder::new(rp_id, first)
            .map_err(|e| format!("relying party `{rp_id}`: {e}"))?
            .rp_name("PlanoAuth");
        for origin in more {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| format!("relying party `{rp_id}`: {e}"))?;
        Ok(RelyingParty {
            webauthn,
            decoy_key: std::sync::OnceLock::new(),
        })
    }

    /// The decoy key, if this process has it.
    pub fn decoy_key(&self) -> Option<&[u8]> {
        self.decoy_key.get().map(Vec::as_slice)
    }

    /// Keeps the decoy key for the process's later sign-ins.
    pub fn keep_decoy_key(&self, key: Vec<u8>) -> &[u8] {
        self.decoy_key.get_or_init(|| key)
    }

    /// The relying party the environment names (see [`RP_ID_VARIABLE`]).
    pub fn from_env() -> Result<RelyingParty, String> {
        let variable = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|value| !value.trim().is_empty())
                .ok_or_else(|| format!("{name} is not set"))
        };
        let (rp_id, origins) = (variable(RP_ID_VARIABLE)?, variable(ORIGINS_VARIABLE)?);
        let origins: Vec<&str> = origins.split(',').map(str::trim).collect();
        RelyingParty::new(&rp_id, &origins)
    }

    /// A registration's options (`PublicKeyCredentialCreationOptionsJSON`) and its state,
    /// for the account whose user handle is `handle`, excluding the credentials it has
    /// (base64url ids), so that one authenticator registers once.
    pub fn start_registration(
        &self,
        handle: Uuid,
        user_name: &str,
        display_name: &str,
        exclude: &[String],
    ) -> Result<(Value, String), String> {
        let exclude: Vec<Vec<u8>> = exclude.iter().filter_map(|id| decode(id)).collect();
        let (challenge, state) = self
            .webauthn
            .start_passkey_registration(handle, user_name, display_name, Some(exclude))
            .map_err(|e| e.to_string())?;
        let mut options = to_value(&challenge.public_key)?;
        // A passkey is discoverable: it signs in without a username.
        options["authenticatorSelection"]["residentKey"] = Value::from("required");
        options["authenticatorSelection"]["requireResidentKey"] = Value::from(true);
        Ok((options, to_json(&state)?))
    }

    /// Verifies a registration's answer (`RegistrationResponseJSON`) against its state.
    pub fn finish_registration(
        &self,
        credential: &Value,
        state: &str,
    ) -> Result<Registered, Rejected> {
        let response: RegisterPublicKeyCredential = serde_json::from_value(credential.clone())
            .map_err(|e| Rejected::Credential(format!("is not a registration response: {e}")))?;
        if response.extensions.cred_props.as_ref().and_then(|p| p.rk) == Some(false) {
            return Err(Rejected::Credential(
                "is not discoverable: the authenticator must keep the passkey".into(),
            ));
        }
        let state: PasskeyRegistration = from_json(state)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(refusal)?;
        stored(&passkey).map(|(key, counter, backed_up)| Registered {
            id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            key,
            counter,
            backed_up,
        })
    }

    /// A sign-in's options (`PublicKeyCredentialRequestOptionsJSON`) and its state:
    /// discoverable, offering the credentials `allow` names (base64url ids) if any.
    pub fn start_sign_in(&self, allow: &[String]) -> Result<(Value, String), String> {
        let (challenge, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| e.to_string())?;
        let mut options = to_value(&challenge.public_key)?;
        if !allow.is_empty() {
            let credentials: Vec<Value> = allow
                .iter()
                .map(|id| serde_json::json!({ "type": "public-key", "id": id }))
                .collect();
            options["allowCredentials"] = Value::from(credentials);
        }
        Ok((options, to_json(&state)?))
    }

    /// The credential a sign-in's answer (`AuthenticationResponseJSON`) names.
    pub fn asserted(&self, credential: &Value) -> Result<Asserted, Rejected> {
        let response = authentication(credential)?;
        let user_handle = match response.get_user_unique_id() {
            Some(bytes) => Some(Uuid::from_slice(bytes).map_err(|_| {
                Rejected::Credential("names a user handle this service never gave".into())
            })?),
            None => None,
        };
        Ok(Asserted {
            id: URL_SAFE_NO_PAD.encode(response.get_credential_id()),
            user_handle,
        })
    }

    /// Verifies a sign-in's answer against its state and the stored passkey it names
    /// (its `key`, as [`Registered`] gave it), with user verification required.
    pub fn finish_sign_in(
        &self,
        credential: &Value,
        state: &str,
        key: &str,
    ) -> Result<Used, Rejected> {
        let response = authentication(credential)?;
        let state: DiscoverableAuthentication = from_json(state)?;
        let mut passkey: Passkey = from_json(key)?;
        let key = DiscoverableKey::from(&passkey);
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&response, state, &key)
            .map_err(refusal)?;
        passkey.update_credential(&result);
        stored(&passkey).map(|(key, counter, backed_up)| Used {
            key,
            counter,
            backed_up,
        })
    }
}

/// A user handle for an account: opaque and random, never its address or its id.
pub fn new_user_handle() -> Uuid {
    Uuid::new_v4()
}

/// Made-up credential ids, stable for an address without passkeys, from a keyed hash of
/// it: what a sign-in that names such an address offers, so that its options look like
/// those of an address with passkeys.
pub fn decoy_credentials(key: &[u8], address: &str) -> Vec<String> {
    use sha2::{Digest, Sha256};
    let digest = |label: &[u8]| {
        let mut hash = Sha256::new();
        hash.update(key);
        hash.update(label);
        hash.update(address.as_bytes());
        hash.finalize()
    };
    let first = digest(b"passkey-decoy-1");
    // One or two, as most accounts have: the first byte decides, stably.
    let count = 1 + usize::from(first[0] & 1);
    [first, digest(b"passkey-decoy-2")]
        .iter()
        .take(count)
        .map(|hash| URL_SAFE_NO_PAD.encode(&hash[..16]))
        .collect()
}

fn authentication(credential: &Value) -> Result<PublicKeyCredential, Rejected> {
    serde_json::from_value(credential.clone())
        .map_err(|e| Rejected::Credential(format!("is not an authentication response: {e}")))
}

/// What a passkey's stored form is, with the counter and the backup state read from it.
fn stored(passkey: &Passkey) -> Result<(String, u32, bool), Rejected> {
    let credential: Credential = passkey.clone().into();
    let key = serde_json::to_string(passkey)
        .map_err(|e| Rejected::Credential(format!("could not be kept: {e}")))?;
    Ok((key, credential.counter, credential.backup_state))
}

fn refusal(error: WebauthnError) -> Rejected {
    match error {
        WebauthnError::CredentialPossibleCompromise => Rejected::CounterRegressed,
        error => Rejected::Credential(format!("does not verify: {error}")),
    }
}

fn decode(id: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(id).ok()
}

fn to_value(value: &impl serde::Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

fn to_json(value: &impl serde::Serialize) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Rejected> {
    serde_json::from_str(json)
        .map_err(|e| Rejected::Credential(format!("has state that does not read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party() -> RelyingParty {
        RelyingParty::new("localhost", &["http://localhost:3000"]).unwrap()
    }

    #[test]
    fn registration_options_ask_for_a_discoverable_verified_passkey() {
        let handle = new_user_handle();
        let exclude = [URL_SAFE_NO_PAD.encode([7u8; 16])];
        let (options, state) = party()
            .start_registration(handle, "ada@example.com", "Ada", &exclude)
            .unwrap();
        assert_eq!(options["rp"]["id"], "localhost");
        assert_eq!(
            options["user"]["id"],
            URL_SAFE_NO_PAD.encode(handle.as_bytes())
        );
        let selection = &options["authenticatorSelection"];
        assert_eq!(selection["residentKey"], "required");
        assert_eq!(selection["userVerification"], "required");
        assert_eq!(options["attestation"], "none");
        assert_eq!(options["excludeCredentials"][0]["id"], exclude[0].as_str());
        let algorithms: Vec<i64> = options["pubKeyCredParams"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["alg"].as_i64())
            .collect();
        assert!(
            algorithms.contains(&-7) && algorithms.contains(&-257),
            "{algorithms:?}"
        );
        assert!(!state.is_empty());
    }

    #[test]
    fn sign_in_options_offer_the_named_credentials_and_no_conditional_mediation() {
        let (open, _) = party().start_sign_in(&[]).unwrap();
        assert!(
            open.get("allowCredentials")
                .is_none_or(|a| a == &serde_json::json!([]))
        );
        assert_eq!(open["userVerification"], "required");
        let (named, _) = party().start_sign_in(&["AAEC".to_owned()]).unwrap();
        assert_eq!(named["allowCredentials"][0]["id"], "AAEC");
        assert!(named.get("mediation").is_none());
    }

    #[test]
    fn an_answer_that_is_not_one_names_the_credential() {
        let (_, state) = party().start_sign_in(&[]).unwrap();
        let refused = party().finish_sign_in(&serde_json::json!({"id": 1}), &state, "{}");
        assert!(matches!(refused, Err(Rejected::Credential(_))));
    }

    #[test]
    fn decoys_are_stable_per_address_and_differ_between_addresses_and_keys() {
        let a = decoy_credentials(b"key", "ada@example.com");
        assert_eq!(a, decoy_credentials(b"key", "ada@example.com"));
        assert!((1..=2).contains(&a.len()));
        assert_ne!(a, decoy_credentials(b"key", "bob@example.com"));
        assert_ne!(a, decoy_credentials(b"other", "ada@example.com"));
        assert!(
            a.iter()
                .all(|id| URL_SAFE_NO_PAD.decode(id).unwrap().len() == 16)
        );
    }

    #[test]
    fn a_relying_party_needs_an_origin_that_parses() {
        assert!(RelyingParty::new("localhost", &[]).is_err());
        assert!(RelyingParty::new("localhost", &["not a url"]).is_err());
    }
}
