//! Limits on attempts: how many wrong passwords, password reset requests or
//! registrations a window allows, per person and per source, and which counters an
//! attempt is taken from. The counting itself is the throttles store's.

/// How many attempts a window of `window_seconds` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub attempts: i64,
    pub window_seconds: i64,
}

/// One counter and its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub key: String,
    pub limit: Limit,
}

impl Throttle {
    /// The name of the window that contains `now`: each window counts apart, from zero.
    pub fn window_key(&self, now: i64) -> String {
        format!("{}#{}", self.key, now.div_euclid(self.limit.window_seconds))
    }

    /// When a window's count is no longer read: once the window after it has ended.
    pub fn expires(&self, now: i64) -> i64 {
        (now.div_euclid(self.limit.window_seconds) + 2) * self.limit.window_seconds
    }
}

/// Where a request comes from, as the limits count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The end user's address, when it is known: the `client_ip` an application's server
    /// passed, or the address API Gateway saw for a caller with a session.
    pub end_user: Option<String>,
    /// The address API Gateway saw, when the caller is an application's server: limited
    /// far more loosely, as a brake on that server's traffic as a whole, since all its
    /// users come from it.
    pub server: Option<String>,
}

impl Origin {
    /// A caller with a session, whose address is the one API Gateway saw.
    pub fn direct(source_ip: &str) -> Origin {
        Origin {
            end_user: Some(source_ip.to_owned()),
            server: None,
        }
    }

    /// An application's server, calling from `source_ip`, that did not say for whom.
    pub fn server(source_ip: &str) -> Origin {
        Origin {
            end_user: None,
            server: Some(source_ip.to_owned()),
        }
    }
}

/// What one kind of attempt is limited to: per person (an account, an address without
/// one, a guest session), per end user's address and per vouching server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_person: Limit,
    pub per_end_user: Limit,
    pub per_server: Limit,
}

const HOUR: i64 = 60 * 60;
const TEN_MINUTES: i64 = 10 * 60;

impl Limits {
    /// Wrong passwords: signing in, proving the current one, repeating a request that
    /// carries one. A right one gives its attempt back.
    pub const PASSWORDS: Limits = Limits {
        per_person: Limit {
            attempts: 100,
            window_seconds: HOUR,
        },
        per_end_user: Limit {
            attempts: 300,
            window_seconds: TEN_MINUTES,
        },
        per_server: Limit {
            attempts: 15_000,
            window_seconds: TEN_MINUTES,
        },
    };

    /// Requests for a password reset email, answered or not: each may send an email.
    pub const RESET_REQUESTS: Limits = Limits {
        per_person: Limit {
            attempts: 5,
            window_seconds: HOUR,
        },
        per_end_user: Limit {
            attempts: 30,
            window_seconds: TEN_MINUTES,
        },
        per_server: Limit {
            attempts: 3_000,
            window_seconds: TEN_MINUTES,
        },
    };

    /// Registrations, whatever their outcome: each tells whether an address is taken.
    pub const REGISTRATIONS: Limits = Limits {
        per_person: Limit {
            attempts: 10,
            window_seconds: HOUR,
        },
        per_end_user: Limit {
            attempts: 50,
            window_seconds: TEN_MINUTES,
        },
        per_server: Limit {
            attempts: 5_000,
            window_seconds: TEN_MINUTES,
        },
    };

    /// The counters an attempt of `kind` (`password`, `reset`, `register`) on `person`
    /// (`account:42`, `address:<hash>`, `session:<id>`; none when there is no one to
    /// count against) from `origin` is taken from.
    pub fn throttles(&self, kind: &str, person: Option<&str>, origin: &Origin) -> Vec<Throttle> {
        let mut throttles = Vec::with_capacity(3);
        if let Some(person) = person {
            throttles.push(Throttle {
                key: format!("{kind}:{person}"),
                limit: self.per_person,
            });
        }
        if let Some(end_user) = &origin.end_user {
            throttles.push(Throttle {
                key: format!("{kind}:end-user:{}", end_user_network(end_user)),
                limit: self.per_end_user,
            });
        }
        if let Some(server) = &origin.server {
            throttles.push(Throttle {
                key: format!("{kind}:server:{server}"),
                limit: self.per_server,
            });
        }
        throttles
    }
}

/// What one end user is counted as: an IPv4 address, or the /64 network of an IPv6 one,
/// since one subscriber holds a whole /64 and could count as a new end user with every
/// address of it. Anything else (no address API Gateway saw, say) is counted as it is.
fn end_user_network(address: &str) -> String {
    match address
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_canonical())
    {
        Ok(std::net::IpAddr::V6(ip)) => {
            let network = u128::from(ip) & !(u128::MAX >> 64);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
        Ok(ip) => ip.to_string(),
        Err(_) => address.to_owned(),
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::PASSWORDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_window_is_counted_apart() {
        let throttle = Throttle {
            key: "password:account:7".into(),
            limit: Limit {
                attempts: 5,
                window_seconds: HOUR,
            },
        };
        assert_eq!(throttle.window_key(2 * HOUR), "password:account:7#2");
        assert_eq!(throttle.window_key(3 * HOUR - 1), "password:account:7#2");
        assert_eq!(throttle.window_key(3 * HOUR), "password:account:7#3");
        assert_eq!(throttle.expires(2 * HOUR), 4 * HOUR);
    }

    #[test]
    fn an_ipv6_end_user_is_counted_by_its_64_network() {
        let key = |address: &str| {
            Limits::PASSWORDS.throttles("password", None, &Origin::direct(address))[0]
                .key
                .clone()
        };
        assert_eq!(
            key("2001:db8:1:2:aaaa::1"),
            "password:end-user:2001:db8:1:2::/64"
        );
        assert_eq!(key("2001:db8:1:2:ffff:1:2:3"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:2::9"), key("2001:db8:1:3::9"));
        assert_eq!(key("::ffff:192.0.2.4"), "password:end-user:192.0.2.4");
        assert_eq!(key("192.0.2.4"), "password:end-user:192.0.2.4");
    }

    #[test]
    fn a_vouching_server_is_braked_apart_from_its_end_users() {
        let vouched = Origin {
            end_user: Some("203.0.113.9".into()),
            server: Some("198.51.100.1".into()),
        };
        let keys: Vec<String> = Limits::PASSWORDS
            .throttles("password", Some("account:7"), &vouched)
            .into_iter()
            .map(|t| t.key)
            .collect();
        assert_eq!(
            keys,
            [
                "password:account:7",
                "password:end-user:203.0.113.9",
                "password:server:198.51.100.1"
            ]
        );
        let direct = Limits::RESET_REQUESTS.throttles("reset", None, &Origin::direct("192.0.2.4"));
        assert_eq!(direct.len(), 1);
        assert_eq!(direct[0].key, "reset:end-user:192.0.2.4");
        assert_eq!(direct[0].limit, Limits::RESET_REQUESTS.per_end_user);
        let unsaid = Limits::PASSWORDS.throttles("password", None, &Origin::server("192.0.2.8"));
        assert_eq!(unsaid.len(), 1);
        assert_eq!(unsaid[0].key, "password:server:192.0.2.8");
        assert_eq!(unsaid[0].limit, Limits::PASSWORDS.per_server);
    }

    #[test]
    fn a_server_is_allowed_far_more_than_any_one_of_its_users() {
        for limits in [
            Limits::PASSWORDS,
            Limits::RESET_REQUESTS,
            Limits::REGISTRATIONS,
        ] {
            assert!(limits.per_server.attempts >= 50 * limits.per_end_user.attempts);
            assert!(limits.per_end_user.attempts > limits.per_person.attempts);
        }
    }
}
