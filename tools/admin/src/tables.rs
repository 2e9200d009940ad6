//! Creates the tables `template.yaml` defines, for the local stack (or a scratch account).

use crate::template::{TableProperties, Template};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use planoauth::error::BoxError;
use planoauth::store::tables::{Tables, env_variable};

/// Creates every table of the template named `{prefix}{LogicalId}` (an existing one is
/// left as it is) and returns the names, which is what the functions read from their
/// environment.
pub async fn create_tables(
    client: &Client,
    template: &Template,
    prefix: &str,
) -> Result<Tables, BoxError> {
    let tables = template.tables()?;
    let declared: Vec<&str> = tables.iter().map(|(name, _)| name.as_str()).collect();
    for resource in Tables::RESOURCES {
        if !declared.contains(&resource) {
            return Err(format!("template.yaml has no table {resource}").into());
        }
    }
    for (logical_id, properties) in &tables {
        create_table(client, &format!("{prefix}{logical_id}"), properties).await?;
    }
    Ok(Tables::named(|resource| format!("{prefix}{resource}")))
}

/// The environment a function needs to find the tables: `SESSIONS_TABLE=...` lines.
pub fn environment(prefix: &str) -> Vec<(String, String)> {
    Tables::RESOURCES
        .iter()
        .map(|resource| (env_variable(resource), format!("{prefix}{resource}")))
        .collect()
}

async fn create_table(
    client: &Client,
    name: &str,
    properties: &TableProperties,
) -> Result<(), BoxError> {
    let key_schema =
        |elements: &[crate::template::KeyElement]| -> Result<Vec<KeySchemaElement>, BoxError> {
            elements
                .iter()
                .map(|element| {
                    Ok(KeySchemaElement::builder()
                        .attribute_name(&element.attribute_name)
                        .key_type(KeyType::from(element.key_type.as_str()))
                        .build()?)
                })
                .collect()
        };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(
            properties
                .billing_mode
                .as_deref()
                .unwrap_or("PAY_PER_REQUEST"),
        ))
        .set_key_schema(Some(key_schema(&properties.key_schema)?));
    for definition in &properties.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&definition.attribute_name)
                .attribute_type(ScalarAttributeType::from(
                    definition.attribute_type.as_str(),
                ))
                .build()?,
        );
    }
    for index in &properties.global_secondary_indexes {
        let mut projection = Projection::builder().projection_type(ProjectionType::from(
            index.projection.projection_type.as_str(),
        ));
        for attribute in &index.projection.non_key_attributes {
            projection = projection.non_key_attributes(attribute);
        }
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection.build())
                .build()?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(error) => {
            return Err(format!(
                "creating table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(error)
            )
            .into());
        }
    }
    if let Some(ttl) = properties
        .time_to_live_specification
        .as_ref()
        .filter(|ttl| ttl.enabled)
    {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(&ttl.attribute_name)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}
