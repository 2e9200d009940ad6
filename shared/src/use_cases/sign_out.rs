use crate::error::ApiError;
use crate::pipeline::Ctx;

/// Ends the caller's session, or with `everywhere` every session of its user; returns
/// how many ended.
pub async fn sign_out(ctx: &Ctx<'_>, everywhere: bool) -> Result<usize, ApiError> {
    let session = ctx
        .caller
        .session()
        .ok_or_else(|| ApiError::crash("signing out without a session"))?;
    let sessions = ctx.app.db.sessions();
    Ok(match session.user_id {
        Some(user_id) if everywhere => sessions.end_all_for_user(user_id).await?,
        _ => usize::from(sessions.end(&session.token_hash).await?),
    })
}
