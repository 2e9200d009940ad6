//! Reads `template.yaml`, the one place tables and routes are defined for deployment, so
//! that local tables are created from it and the code's routes can be checked against it.

use planoauth::error::BoxError;
use serde::Deserialize;
use serde_norway::Value;
use std::path::Path;

pub struct Template {
    resources: serde_norway::Mapping,
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
        Ok(Template { resources })
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
