//! Throttles: counts of failures per key (an email address's hash, a source IP) in fixed
//! windows. A key's item holds the window it counts in and the count; a failure in a later
//! window starts the count again, so a stranger can lock a key out for the rest of a
//! window at most.

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

/// A key and the window (in seconds) it counts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub key: String,
    pub window_seconds: i64,
}

impl Throttle {
    /// The window that contains `now`, as its index since the epoch.
    fn window(&self, now: i64) -> i64 {
        now.div_euclid(self.window_seconds)
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

    /// Counts a failure in the throttle's current window.
    pub async fn count_failure(&self, throttle: &Throttle, now: i64) -> Result<(), StoreError> {
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
                    number((window + 2) * throttle.window_seconds),
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
