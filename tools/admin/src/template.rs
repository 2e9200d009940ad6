//! Reads `template.yaml`, the one place tables and routes are defined for deployment, so
//! that local tables are created from it and the code's routes can be checked against it.

use planoauth::error::BoxError;
use serde::Deserialize;
use serde_norway::Value;
use std::path::Path;

pub struct Template {
    resources: serde_norway::Mapping,
    globals: Value,
    parameters: serde_norway::Mapping,
}

/// A function as the template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateFunction {
    /// Its logical id, as `sam local invoke` names it.
    pub logical_id: String,
    /// Its binary (its `BuildProperties.Binary`).
    pub binary: String,
    /// Its environment, the globals' and its own, in the order the template gives them.
    pub environment: Vec<(String, EnvironmentValue)>,
}

/// A variable's value as the template writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvironmentValue {
    Literal(String),
    /// `!Ref NAME`: a parameter's value, or a resource's name.
    Ref(String),
    /// `!Sub TEXT`: the text with `${NAME}` replaced.
    Sub(String),
}

/// A table resource's properties, as far as creating the table needs them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableProperties {
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeyElement>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub time_to_live_specification: Option<TimeToLive>,
    pub billing_mode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GlobalSecondaryIndex {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: Projection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLive {
    pub attribute_name: String,
    pub enabled: bool,
}

/// A route an `HttpApi` event of a function declares.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TemplateRoute {
    /// The function's binary (its `BuildProperties.Binary`).
    pub binary: String,
    pub method: String,
    pub path: String,
}

/// The variables of the `Environment` of a function's properties (or of the globals).
fn environment(properties: &Option<&Value>) -> Vec<(String, EnvironmentValue)> {
    let variables = properties
        .and_then(|p| p.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping);
    variables
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| {
            let value = match value {
                Value::String(text) => EnvironmentValue::Literal(text.clone()),
                Value::Tagged(tagged) => {
                    let text = tagged.value.as_str()?.to_owned();
                    match tagged.tag.to_string().as_str() {
                        "!Ref" => EnvironmentValue::Ref(text),
                        "!Sub" => EnvironmentValue::Sub(text),
                        _ => return None,
                    }
                }
                other => EnvironmentValue::Literal(
                    serde_norway::to_string(other).ok()?.trim().to_owned(),
                ),
            };
            Some((name.as_str()?.to_owned(), value))
        })
        .collect()
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, BoxError> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Template::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Template, BoxError> {
        let document: Value = serde_norway::from_str(text)?;
        let resources = document
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or("template has no Resources")?
            .clone();
        let globals = document.get("Globals").cloned().unwrap_or(Value::Null);
        let parameters = document
            .get("Parameters")
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        Ok(Template {
            resources,
            globals,
            parameters,
        })
    }

    fn resources_of_type<'a>(
        &'a self,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources.iter().filter_map(move |(name, resource)| {
            let name = name.as_str()?;
            (resource.get("Type")?.as_str()? == kind).then_some((name, resource))
        })
    }

    /// Every DynamoDB table: its logical id and properties.
    pub fn tables(&self) -> Result<Vec<(String, TableProperties)>, BoxError> {
        self.resources_of_type("AWS::DynamoDB::Table")
            .map(|(name, resource)| {
                let properties = resource
                    .get("Properties")
                    .cloned()
                    .ok_or("table without Properties")?;
                let properties: TableProperties = serde_norway::from_value(properties)
                    .map_err(|e| format!("table {name}: {e}"))?;
                Ok((name.to_owned(), properties))
            })
            .collect()
    }

    /// The binary of every function (its `BuildProperties.Binary`).
    pub fn function_binaries(&self) -> Vec<String> {
        self.resources_of_type("AWS::Serverless::Function")
            .filter_map(|(_, function)| {
                let binary = function
                    .get("Metadata")?
                    .get("BuildProperties")?
                    .get("Binary")?;
                Some(binary.as_str()?.to_owned())
            })
            .collect()
    }

    /// Whether the template declares a resource of this logical id.
    pub fn has_resource(&self, logical_id: &str) -> bool {
        self.resources.contains_key(logical_id)
    }

    /// A parameter's default value.
    pub fn parameter_default(&self, name: &str) -> Option<String> {
        let default = self.parameters.get(name)?.get("Default")?;
        match default {
            Value::String(text) => Some(text.clone()),
            other => serde_norway::to_string(other)
                .ok()
                .map(|text| text.trim().to_owned()),
        }
    }

    /// The function whose binary this is.
    pub fn function(&self, binary: &str) -> Option<TemplateFunction> {
        self.resources_of_type("AWS::Serverless::Function")
            .find_map(|(logical_id, function)| {
                let built = function
                    .get("Metadata")?
                    .get("BuildProperties")?
                    .get("Binary")?
                    .as_str()?;
                (built == binary).then(|| TemplateFunction {
                    logical_id: logical_id.to_owned(),
                    binary: binary.to_owned(),
                    environment: environment(&self.globals.get("Function"))
                        .into_iter()
                        .chain(environment(&function.get("Properties")))
                        .collect(),
                })
            })
    }

    /// Every route of every function's `HttpApi` events.
    pub fn routes(&self) -> Vec<TemplateRoute> {
        let mut routes: Vec<TemplateRoute> = self
            .resources_of_type("AWS::Serverless::Function")
            .flat_map(|(name, function)| {
                let binary = function
                    .get("Metadata")
                    .and_then(|m| m.get("BuildProperties"))
                    .and_then(|b| b.get("Binary"))
                    .and_then(Value::as_str)
                    .unwrap_or(name)
                    .to_owned();
                let events = function
                    .get("Properties")
                    .and_then(|p| p.get("Events"))
                    .and_then(Value::as_mapping)
                    .cloned()
                    .unwrap_or_default();
                events
                    .into_iter()
                    .filter(|(_, event)| {
                        event.get("Type").and_then(Value::as_str) == Some("HttpApi")
                    })
                    .filter_map(move |(_, event)| {
                        let properties = event.get("Properties")?;
                        Some(TemplateRoute {
                            binary: binary.clone(),
                            method: properties.get("Method")?.as_str()?.to_uppercase(),
                            path: properties.get("Path")?.as_str()?.to_owned(),
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        routes.sort();
        routes
    }
}
