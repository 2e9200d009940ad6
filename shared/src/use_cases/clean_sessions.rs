//! Deleting expired sessions (the hourly cleanup).
//!
//! It deletes every session past its 7-day or 72-hour expiry and keeps `remember_me`
//! ones. It finds them through two sparse indexes (sessions that can expire, by last use
//! and by creation, spread over shards) rather than a Scan, a page at a time, and stops
//! at `stop_by`; the next run picks up where this one stopped. Each delete re-checks
//! expiry in its condition, so running twice at once, or again (scheduled events arrive
//! at least once), deletes nothing twice and nothing live.

use crate::app::App;
use crate::domain::{ABSOLUTE_LIFETIME, IDLE_LIFETIME};
use crate::store::StoreError;
use crate::store::session_expiry::{AGE_INDEX, EXPIRY_SHARDS, IDLE_INDEX};
use futures_util::StreamExt;
use serde::Serialize;
use std::time::Instant;

/// Deletes in flight at once: enough to be quick, few enough not to throttle the table.
const CONCURRENT_DELETES: usize = 16;
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Sessions this run deleted.
    pub deleted: usize,
    /// Candidates left alone: used meanwhile, or deleted by another run.
    pub kept: usize,
    /// Whether every index was read to its end before the deadline.
    pub complete: bool,
}

/// Deletes the sessions expired at `now`, until done or `stop_by`.
pub async fn clean_expired_sessions(
    app: &App,
    now: i64,
    stop_by: Instant,
) -> Result<Report, StoreError> {
    let sessions = app.db.session_expiry();
    let mut report = Report::default();
    for (index, cutoff) in [
        (IDLE_INDEX, now - IDLE_LIFETIME),
        (AGE_INDEX, now - ABSOLUTE_LIFETIME),
    ] {
        for shard in 0..EXPIRY_SHARDS {
            let mut start = None;
            loop {
                if Instant::now() >= stop_by {
                    return Ok(report);
                }
                let (candidates, next) = sessions
                    .expiry_candidates(index, shard, cutoff, start)
                    .await?;
                let listings = app.db.account_sessions();
                let mut deletes = futures_util::stream::iter(candidates)
                    .map(|hash| async {
                        let deleted = sessions.delete_if_expired(hash, now).await?;
                        // Off its account's listing too, once the session is gone.
                        if let Some((hash, Some(user_id))) = &deleted {
                            listings
                                .unlist(*user_id, std::slice::from_ref(hash))
                                .await?;
                        }
                        Ok::<_, StoreError>(deleted.is_some())
                    })
                    .buffer_unordered(CONCURRENT_DELETES);
                while let Some(deleted) = deletes.next().await {
                    if deleted? {
                        report.deleted += 1;
                    } else {
                        report.kept += 1;
                    }
                }
                match next {
                    Some(key) => start = Some(key),
                    None => break,
                }
            }
        }
    }
    report.complete = true;
    Ok(report)
}
