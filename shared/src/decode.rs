//! Decoding: from the HTTP request to its parameters. Routes that take a password receive
//! their JSON body base64-encoded ("sensitive params"), so that it never sits in plain
//! text in a proxy's or a gateway's request log.

use crate::error::ApiError;
use crate::params::Params;
use crate::status::Status;
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use lambda_http::{Body, Request, http::header};
use serde_json::Value;

/// Padding is optional: clients differ on it and it carries no information.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const BASE64: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const BASE64_URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

pub fn decode(request: &Request, sensitive_params: bool) -> Result<Params, ApiError> {
    let body: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    let body = body.trim_ascii();
    if !body.is_empty() && !is_json(request) {
        return Err(ApiError::reject_because(
            Status::InvalidContentType,
            "The Content-Type header is not application/json.",
        ));
    }
    if sensitive_params {
        decode_sensitive(body)
    } else if body.is_empty() {
        Ok(Params::default())
    } else {
        parse_object(body)
            .map_err(|reason| ApiError::reject_because(Status::InvalidContentType, reason))
    }
}

fn decode_sensitive(body: &[u8]) -> Result<Params, ApiError> {
    let encoded: Vec<u8> = body
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let decoded = BASE64
        .decode(&encoded)
        .or_else(|_| BASE64_URL.decode(&encoded))
        .map_err(|_| {
            ApiError::reject_because(
                Status::InvalidEncodedParams,
                "The body is not valid base64.",
            )
        })?;
    if decoded.trim_ascii().is_empty() {
        return Err(ApiError::reject(Status::NoParamsDecoded));
    }
    let params = parse_object(&decoded)
        .map_err(|reason| ApiError::reject_because(Status::InvalidEncodedParams, reason))?;
    if params.is_empty() {
        return Err(ApiError::reject(Status::NoParamsDecoded));
    }
    Ok(params)
}

fn parse_object(bytes: &[u8]) -> Result<Params, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(Params::new(map)),
        Ok(_) => Err("The parameters must be a JSON object.".to_owned()),
        // serde's message names the line and column, never the content.
        Err(error) => Err(format!("The body is not valid JSON ({error}).")),
    }
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use lambda_http::http;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/api/v1/x");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        builder
            .body(Body::Text(body.to_owned()))
            .unwrap_or_default()
    }

    fn status(result: Result<Params, ApiError>) -> Status {
        result.map_or_else(|e| e.status(), |_| Status::ActionSuccessful)
    }

    #[test]
    fn json_bodies() {
        let json = Some("application/json; charset=utf-8");
        assert_eq!(
            status(decode(&request(json, r#"{"id": 1}"#), false)),
            Status::ActionSuccessful
        );
        assert_eq!(
            status(decode(&request(json, ""), false)),
            Status::ActionSuccessful
        );
        assert_eq!(
            status(decode(&request(json, "id=1"), false)),
            Status::InvalidContentType
        );
        assert_eq!(
            status(decode(&request(json, "[1]"), false)),
            Status::InvalidContentType
        );
        assert_eq!(
            status(decode(
                &request(Some("application/x-www-form-urlencoded"), "id=1"),
                false
            )),
            Status::InvalidContentType
        );
        assert_eq!(
            status(decode(&request(None, r#"{"id": 1}"#), false)),
            Status::InvalidContentType
        );
    }

    #[test]
    fn sensitive_bodies() {
        let json = Some("application/json");
        let encoded = STANDARD.encode(r#"{"email": "a@b.co"}"#);
        assert_eq!(
            status(decode(&request(json, &encoded), true)),
            Status::ActionSuccessful
        );
        assert_eq!(
            status(decode(&request(json, encoded.trim_end_matches('=')), true)),
            Status::ActionSuccessful
        );
        assert_eq!(
            status(decode(&request(json, r#"{"email": "a@b.co"}"#), true)),
            Status::InvalidEncodedParams
        );
        assert_eq!(
            status(decode(&request(json, &STANDARD.encode("{}")), true)),
            Status::NoParamsDecoded
        );
        assert_eq!(
            status(decode(&request(json, ""), true)),
            Status::NoParamsDecoded
        );
        assert_eq!(
            status(decode(&request(json, &STANDARD.encode("nope")), true)),
            Status::InvalidEncodedParams
        );
    }
}
