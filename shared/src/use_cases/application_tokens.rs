//! The operator's rotation of an application token.

use crate::app::App;
use crate::domain::{Application, ApplicationToken};
use crate::store::{Outcome, PRIORITY, Step, Steps, StoreError};

/// Replaces a token with a new one holding the same name and permissions, in one
/// transaction: the old token stops working as the new one starts. `None` if there is
/// no such token, or another operator revoked or rotated it meanwhile; else the new
/// token (shown once) and its record.
pub async fn rotate_token(
    app: &App,
    application: Application,
    id: &str,
) -> Result<Option<(String, ApplicationToken)>, StoreError> {
    let db = &app.db;
    let tokens = db.application_tokens();
    let Some(rotation) = tokens.rotation(application, id, app.clock.now()).await? else {
        return Ok(None);
    };
    let mut steps = Steps::default();
    steps
        .push(Step::Record, rotation.put)
        .push(Step::Record, rotation.delete);
    match steps.run(&db.client, &PRIORITY).await? {
        Outcome::Written => Ok(Some((rotation.token, rotation.record))),
        Outcome::Refused { .. } => Ok(None),
        Outcome::Conflict => Err(StoreError::Busy("rotating a token")),
    }
}
