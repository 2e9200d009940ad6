//! The page the local API serves at `/`: a sign-in page as an application would have
//! one, with a password or a passkey, the session and the user's passkeys. Its files are
//! built into the binary; the application token it signs in with is given at start.

/// A file of the page: its type and its bytes.
pub struct File {
    pub content_type: &'static str,
    pub body: String,
}

/// The page's files, the HTML holding the application token it calls the API with.
pub struct Page {
    index: String,
}

/// What the page may load and call: its own files and the API, nothing inline, nothing
/// from elsewhere, never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

impl Page {
    /// The page, signing in with `application_token` (an empty field without one).
    pub fn new(application_token: Option<&str>) -> Page {
        let token = planoauth::mail::escape(application_token.unwrap_or(""));
        Page {
            index: include_str!("../page/index.html").replace("{{APPLICATION_TOKEN}}", &token),
        }
    }

    /// The file at `path` for a GET, if the page has one.
    pub fn file(&self, method: &str, path: &str) -> Option<File> {
        if method != "GET" {
            return None;
        }
        let (content_type, body) = match path {
            "/" | "/index.html" => ("text/html; charset=utf-8", self.index.clone()),
            "/page.js" => (
                "text/javascript; charset=utf-8",
                include_str!("../page/page.js").to_owned(),
            ),
            "/page.css" => (
                "text/css; charset=utf-8",
                include_str!("../page/page.css").to_owned(),
            ),
            _ => return None,
        };
        Some(File { content_type, body })
    }
}

/// Whether a request's `Host` is one of this machine's own names for the local API
/// (`localhost` and its subdomains, which browsers resolve to loopback themselves, or
/// the loopback address): the page carries an application token, which a site elsewhere
/// whose name its DNS points at 127.0.0.1 (DNS rebinding) must not be able to read.
pub fn is_local_host(host: Option<&str>, port: u16) -> bool {
    let Some(name) = host.and_then(|host| host.strip_suffix(&format!(":{port}"))) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || name == "127.0.0.1" || name == "[::1]"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_holds_the_token_escaped_and_serves_only_its_files() {
        let page = Page::new(Some("pa_app_1\"><script>"));
        let index = page.file("GET", "/").unwrap();
        assert!(index.content_type.starts_with("text/html"));
        assert!(
            index
                .body
                .contains("content=\"pa_app_1&quot;&gt;&lt;script&gt;\"")
        );
        assert!(!index.body.contains("{{APPLICATION_TOKEN}}"));
        assert!(page.file("GET", "/page.js").is_some());
        assert!(page.file("POST", "/").is_none());
        assert!(page.file("GET", "/api/v1/sessions/show").is_none());
        assert!(page.file("GET", "/../Cargo.toml").is_none());
        assert!(
            page.file("get", "/").is_none(),
            "methods are case-sensitive"
        );
    }

    #[test]
    fn the_page_is_served_to_this_machines_names_only() {
        assert!(is_local_host(Some("localhost:3000"), 3000));
        assert!(is_local_host(Some("127.0.0.1:3000"), 3000));
        assert!(is_local_host(Some("elsewhere.localhost:3000"), 3000));
        assert!(!is_local_host(Some("localhost:3001"), 3000));
        assert!(!is_local_host(Some("localhost.example:3000"), 3000));
        assert!(!is_local_host(Some("rebound.example:3000"), 3000));
        assert!(!is_local_host(None, 3000));
    }
}
