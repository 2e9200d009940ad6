//! Throttles: counts of attempts per key (wrong passwords per person or source, password
//! reset requests, registrations, ...) in fixed windows. Each window of a key is an item
//! of its own (`<key>#<window>`), so that taking an attempt is one conditional UpdateItem:
//! it adds the attempt only while the window's count is below the limit. Requests sent
//! together are each counted before any of them does the work the throttle limits, and
//! past the limit none is. A stranger can lock a key out for the rest of a window at most.

use super::{
    Conditional, Expression, Item, Reader, StoreError, batch_get, number, string, update_if,
};
use crate::domain::Throttle;
use aws_sdk_dynamodb::Client;
use futures_util::future::join_all;
use std::collections::HashMap;

mod attr {
    pub const KEY: &str = "key";
    pub const COUNT: &str = "count";
    pub const EXPIRES: &str = "expires";
}

/// What taking an attempt from every throttle found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Every throttle counted the attempt.
    All,
    /// At least one had reached its limit; none keeps the attempt.
    Refused,
}

pub struct Throttles<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Throttles<'_> {
    /// Takes one attempt from every throttle's current window, concurrently, each with a
    /// conditional write that holds only below the limit. If any throttle refuses, the
    /// attempt is given back to those that took it, and nothing is counted.
    pub async fn take(&self, throttles: &[Throttle], now: i64) -> Result<Taken, StoreError> {
        let taken = join_all(throttles.iter().map(|t| self.take_one(t, now))).await;
        if taken.iter().all(|took| matches!(took, Ok(true))) {
            return Ok(Taken::All);
        }
        let took: Vec<&Throttle> = throttles
            .iter()
            .zip(&taken)
            .filter(|(_, took)| matches!(took, Ok(true)))
            .map(|(throttle, _)| throttle)
            .collect();
        // Giving back is a courtesy: an attempt left counted only makes a limit stricter.
        if let Err(error) = self.give_back_each(&took, now).await {
            tracing::warn!(cause = %error, "attempts not given back");
        }
        for result in taken {
            result?;
        }
        Ok(Taken::Refused)
    }

    /// Gives back an attempt [`Throttles::take`] took at `now`: the work it limited turned
    /// out not to count (a right password). Never below zero.
    pub async fn give_back(&self, throttles: &[Throttle], now: i64) -> Result<(), StoreError> {
        self.give_back_each(&throttles.iter().collect::<Vec<_>>(), now)
            .await
    }

    /// The attempts each throttle has counted in its current window, in one read.
    pub async fn counts(&self, throttles: &[Throttle], now: i64) -> Result<Vec<i64>, StoreError> {
        let keys: Vec<String> = throttles.iter().map(|t| t.window_key(now)).collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        let wanted = unique
            .iter()
            .map(|key| Item::from([(attr::KEY.to_owned(), string(key))]))
            .collect();
        let mut found: HashMap<String, i64> = HashMap::new();
        for item in batch_get(self.client, self.table, wanted).await? {
            let read = Reader(&item);
            found.insert(read.str(attr::KEY)?.to_owned(), read.num(attr::COUNT)?);
        }
        Ok(keys
            .iter()
            .map(|key| found.get(key).copied().unwrap_or(0))
            .collect())
    }

    /// Whether this throttle's window had room for one more attempt, which it now counts.
    async fn take_one(&self, throttle: &Throttle, now: i64) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        e.add(attr::COUNT, number(1))
            .set(attr::EXPIRES, number(throttle.expires(now)));
        let (count, limit) = (
            e.name(attr::COUNT),
            e.value(number(throttle.limit.attempts)),
        );
        e.condition(format!(
            "attribute_not_exists({count}) OR {count} < {limit}"
        ));
        let key = (attr::KEY, string(throttle.window_key(now)));
        Ok(matches!(
            update_if(self.client, self.table, key, &e).await?,
            Conditional::Updated(_)
        ))
    }

    async fn give_back_each(&self, throttles: &[&Throttle], now: i64) -> Result<(), StoreError> {
        let given = join_all(throttles.iter().map(|throttle| async move {
            let mut e = Expression::default();
            e.add(attr::COUNT, number(-1));
            let (count, zero) = (e.name(attr::COUNT), e.value(number(0)));
            e.condition(format!("{count} > {zero}"));
            let key = (attr::KEY, string(throttle.window_key(now)));
            update_if(self.client, self.table, key, &e).await
        }))
        .await;
        for result in given {
            result?;
        }
        Ok(())
    }
}
