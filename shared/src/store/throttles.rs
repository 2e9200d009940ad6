//! Throttles: counts of attempts per key (failed sign-ins per email address's hash or
//! source IP, password reset requests, ...) in fixed windows. A key's item holds the
//! window it counts in and the count; an attempt in a later window starts the count
//! again, so a stranger can lock a key out for the rest of a window at most.

use super::{
    Conditional, Expression, Item, Reader, StoreError, batch_get, number, string, update_if,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;

mod attr {
    pub const KEY: &str = "key";
    pub const WINDOW: &str = "window";
    pub const COUNT: &str = "count";
    pub const EXPIRES: &str = "expires";
}

/// How many attempts a window of `window_seconds` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub attempts: i64,
    pub window_seconds: i64,
}

/// A key and its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub key: String,
    pub limit: Limit,
}

impl Throttle {
    /// The window that contains `now`, as its index since the epoch.
    fn window(&self, now: i64) -> i64 {
        now.div_euclid(self.limit.window_seconds)
    }
}

pub struct Throttles<'a> {
    pub(super) client: &'a Client,
    pub(super) table: &'a str,
}

impl Throttles<'_> {
    /// The failures each throttle has counted in its current window, in one read.
    pub async fn counts(&self, throttles: &[Throttle], now: i64) -> Result<Vec<i64>, StoreError> {
        let keys = throttles
            .iter()
            .map(|t| Item::from([(attr::KEY.to_owned(), string(&t.key))]))
            .collect();
        let mut found: HashMap<String, (i64, i64)> = HashMap::new();
        for item in batch_get(self.client, self.table, keys).await? {
            let read = Reader(&item);
            found.insert(
                read.str(attr::KEY)?.to_owned(),
                (read.num(attr::WINDOW)?, read.num(attr::COUNT)?),
            );
        }
        Ok(throttles
            .iter()
            .map(|t| match found.get(&t.key) {
                Some((window, count)) if *window == t.window(now) => *count,
                _ => 0,
            })
            .collect())
    }

    /// Whether any of the throttles has reached its limit in its current window.
    pub async fn any_reached(&self, throttles: &[Throttle], now: i64) -> Result<bool, StoreError> {
        let counts = self.counts(throttles, now).await?;
        Ok(throttles
            .iter()
            .zip(counts)
            .any(|(throttle, count)| count >= throttle.limit.attempts))
    }

    /// Counts an attempt in every throttle's current window, concurrently.
    pub async fn count_all(&self, throttles: &[Throttle], now: i64) -> Result<(), StoreError> {
        futures_util::future::try_join_all(throttles.iter().map(|t| self.count(t, now))).await?;
        Ok(())
    }

    /// Counts an attempt in the throttle's current window.
    pub async fn count(&self, throttle: &Throttle, now: i64) -> Result<(), StoreError> {
        let window = throttle.window(now);
        let key = (attr::KEY, string(&throttle.key));
        for _ in 0..3 {
            let mut same_window = Expression::default();
            same_window.add(attr::COUNT, number(1));
            let (name, current) = (
                same_window.name(attr::WINDOW),
                same_window.value(number(window)),
            );
            same_window.condition(format!("{name} = {current}"));
            if let Conditional::Updated(_) =
                update_if(self.client, self.table, key.clone(), &same_window).await?
            {
                return Ok(());
            }
            let mut new_window = Expression::default();
            new_window
                .set(attr::COUNT, number(1))
                .set(attr::WINDOW, number(window))
                // Kept a window past its end for the TTL to remove; reads check the window.
                .set(
                    attr::EXPIRES,
                    number((window + 2) * throttle.limit.window_seconds),
                );
            let (name, current) = (
                new_window.name(attr::WINDOW),
                new_window.value(number(window)),
            );
            new_window.condition(format!(
                "attribute_not_exists({name}) OR {name} < {current}"
            ));
            match update_if(self.client, self.table, key.clone(), &new_window).await? {
                Conditional::Updated(_) => return Ok(()),
                // Another request opened this window first: count in it.
                Conditional::Refused(_) => {}
            }
        }
        Ok(())
    }
}
