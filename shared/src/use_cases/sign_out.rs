use super::sessions::{end_session, end_sessions};
use crate::error::ApiError;
use crate::pipeline::Ctx;

/// Ends the caller's session, or with `everywhere` every session of its user; returns
/// how many ended.
pub async fn sign_out(ctx: &Ctx<'_>, everywhere: bool) -> Result<usize, ApiError> {
    let session = ctx
        .caller
        .session()
        .ok_or_else(|| ApiError::crash("signing out without a session"))?;
    let db = &ctx.app.db;
    Ok(match session.user_id {
        Some(user_id) if everywhere => end_sessions(db, user_id, None).await?,
        _ => usize::from(end_session(db, &session.token_hash).await?),
    })
}
