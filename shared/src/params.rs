//! Typed extraction of request parameters.
//!
//! An endpoint takes each parameter it knows out of [`Params`] with the type it expects;
//! whatever is left over when it calls [`Params::finish`] is an unknown parameter and is
//! refused, so that a misspelt field is never silently ignored.

use crate::domain::Patch;
use crate::error::ApiError;
use serde_json::{Map, Value};

/// Why a value was refused; `field` names a part of it (`latitude` in `address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: Option<String>,
    pub reason: String,
}

impl Invalid {
    pub fn new(reason: impl Into<String>) -> Self {
        Invalid {
            field: None,
            reason: reason.into(),
        }
    }

    pub fn in_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Invalid {
            field: Some(field.into()),
            reason: reason.into(),
        }
    }
}

/// A type that a parameter's JSON value can be read as.
pub trait Param: Sized {
    fn from_value(value: Value) -> Result<Self, Invalid>;
}

/// The parameters of one request, as a JSON object.
#[derive(Debug, Default)]
pub struct Params {
    values: Map<String, Value>,
}

impl Params {
    pub fn new(values: Map<String, Value>) -> Self {
        Params { values }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every parameter not taken yet, as the request gave it.
    pub fn remaining(&self) -> &Map<String, Value> {
        &self.values
    }

    /// A required parameter; `null` counts as not passed.
    pub fn required<T: Param>(&mut self, name: &str) -> Result<T, ApiError> {
        self.optional(name)?.ok_or_else(|| ApiError::missing(name))
    }

    /// An optional parameter; `null` counts as not passed.
    pub fn optional<T: Param>(&mut self, name: &str) -> Result<Option<T>, ApiError> {
        match self.values.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => read(name, value).map(Some),
        }
    }

    /// A parameter read without taking it, for a stage before the handler that must know
    /// it too (whom the request acts on); `null` counts as not passed.
    pub fn peek<T: Param>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.values.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => read(name, value.clone()).map(Some),
        }
    }

    /// A field of an update, where `null` clears the stored value.
    pub fn patch<T: Param>(&mut self, name: &str) -> Result<Patch<T>, ApiError> {
        match self.values.remove(name) {
            None => Ok(Patch::Unchanged),
            Some(Value::Null) => Ok(Patch::Clear),
            Some(value) => read(name, value).map(Patch::Set),
        }
    }

    /// Refuses any parameter the endpoint did not take.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.values.into_iter().next() {
            None => Ok(()),
            Some((name, _)) => Err(ApiError::invalid(name, "is not a parameter of this route")),
        }
    }
}

fn read<T: Param>(name: &str, value: Value) -> Result<T, ApiError> {
    T::from_value(value).map_err(|invalid| match invalid.field {
        Some(field) => ApiError::invalid(format!("{name}.{field}"), invalid.reason),
        None => ApiError::invalid(name, invalid.reason),
    })
}

impl Param for Value {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        Ok(value)
    }
}

impl Param for bool {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        value
            .as_bool()
            .ok_or_else(|| Invalid::new(format!("must be true or false, not {}", describe(&value))))
    }
}

impl Param for i64 {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        value
            .as_i64()
            .ok_or_else(|| Invalid::new(format!("must be an integer, not {}", describe(&value))))
    }
}

impl Param for String {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match value {
            Value::String(text) => Ok(text),
            other => Err(Invalid::new(format!(
                "must be a string, not {}",
                describe(&other)
            ))),
        }
    }
}

impl<T: Param> Param for Vec<T> {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match value {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(index, item)| {
                    T::from_value(item).map_err(|invalid| Invalid {
                        field: Some(match invalid.field {
                            Some(field) => format!("{index}.{field}"),
                            None => index.to_string(),
                        }),
                        reason: invalid.reason,
                    })
                })
                .collect(),
            other => Err(Invalid::new(format!(
                "must be an array, not {}",
                describe(&other)
            ))),
        }
    }
}

/// A JSON object parameter (a "hash"), read field by field like the top level.
pub struct Fields(Params);

impl Param for Fields {
    fn from_value(value: Value) -> Result<Self, Invalid> {
        match value {
            Value::Object(map) => Ok(Fields(Params::new(map))),
            other => Err(Invalid::new(format!(
                "must be an object, not {}",
                describe(&other)
            ))),
        }
    }
}

impl Fields {
    /// Reads the object's fields with `read`, then refuses any field it did not take.
    /// Errors name the field, so the caller sees `address.city`.
    pub fn read<T>(
        self,
        read: impl FnOnce(&mut Params) -> Result<T, ApiError>,
    ) -> Result<T, Invalid> {
        let mut params = self.0;
        let value = read(&mut params).map_err(nested)?;
        params.finish().map_err(nested)?;
        Ok(value)
    }
}

fn nested(error: ApiError) -> Invalid {
    match error {
        ApiError::InvalidParam { param, reason } => Invalid::in_field(param, reason),
        ApiError::MissingParam { param } => Invalid::in_field(param, "is required"),
        other => Invalid::new(other.message()),
    }
}

/// How a JSON value is named in a message: its kind, never its content (which may be a
/// secret).
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(value: Value) -> Params {
        match value {
            Value::Object(map) => Params::new(map),
            _ => unreachable!("tests pass objects"),
        }
    }

    #[test]
    fn required_integer() {
        let mut p = params(json!({"id": 7, "bad": "abc", "none": null}));
        assert_eq!(p.required::<i64>("id").ok(), Some(7));
        let err = p.required::<i64>("bad").unwrap_err();
        assert_eq!(
            err.message(),
            "The parameter `bad` is invalid: must be an integer, not a string."
        );
        assert!(matches!(
            p.required::<i64>("none"),
            Err(ApiError::MissingParam { .. })
        ));
        assert!(matches!(
            p.required::<i64>("absent"),
            Err(ApiError::MissingParam { .. })
        ));
    }

    #[test]
    fn patch_tells_absent_from_null() {
        let mut p = params(json!({"a": null, "b": "x"}));
        assert_eq!(p.patch::<String>("a").ok(), Some(Patch::Clear));
        assert_eq!(
            p.patch::<String>("b").ok(),
            Some(Patch::Set("x".to_owned()))
        );
        assert_eq!(p.patch::<String>("c").ok(), Some(Patch::Unchanged));
    }

    #[test]
    fn unknown_parameters_are_refused() {
        let mut p = params(json!({"id": 1, "frist_name": "Ada"}));
        p.required::<i64>("id").ok();
        let err = p.finish().unwrap_err();
        assert!(err.message().contains("`frist_name`"));
    }

    #[test]
    fn array_errors_name_the_element() {
        let mut p = params(json!({"skills": ["a", 3]}));
        let err = p.required::<Vec<String>>("skills").unwrap_err();
        assert!(err.message().contains("`skills.1`"), "{}", err.message());
    }

    #[test]
    fn nested_fields_are_named_with_their_parent() {
        let mut p = params(json!({"address": {"city": 5}}));
        let err = p
            .required::<Fields>("address")
            .and_then(|fields| {
                fields
                    .read(|f| f.optional::<String>("city"))
                    .map_err(|invalid| {
                        ApiError::invalid(
                            format!("address.{}", invalid.field.unwrap_or_default()),
                            invalid.reason,
                        )
                    })
            })
            .unwrap_err();
        assert!(
            err.message().contains("`address.city`"),
            "{}",
            err.message()
        );
    }
}
