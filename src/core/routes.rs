//! Trying a route: whether the upstream answers through an account's proxy (or a proxy
//! being considered), how long it took, and in plain words why not.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Core, CoreError};
use crate::egress::{ProxyUrl, Route};

/// How long a route test waits for the upstream.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The outcome of one route test.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTest {
    /// The account tested, when it was an account's route.
    pub account_id: Option<String>,
    /// The route, credentials masked.
    pub route: String,
    pub reachable: bool,
    pub elapsed_ms: u64,
    /// The HTTP status the upstream answered (any status means it was reached).
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Core {
    /// Tests each account's route (`ids`), one after another.
    pub async fn test_account_routes(&self, ids: &[String]) -> Result<Vec<RouteTest>, CoreError> {
        let pool = self.pool();
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            let account =
                pool.by_id.get(id).ok_or_else(|| CoreError::NotFound(format!("no account with id {id:?}")))?;
            let mut test = match self.route_of(account) {
                Ok(route) => self.test_route(&route).await,
                Err(err) => RouteTest {
                    account_id: None,
                    route: "(unreadable)".into(),
                    reachable: false,
                    elapsed_ms: 0,
                    status: None,
                    error: Some(err.to_string()),
                },
            };
            test.account_id = Some(id.clone());
            results.push(test);
        }
        Ok(results)
    }

    /// Tests a proxy URL, before any account uses it.
    pub async fn test_proxy(&self, url: &str) -> Result<RouteTest, CoreError> {
        let url = ProxyUrl::parse(url).map_err(|err| CoreError::Invalid(err.to_string()))?;
        Ok(self.test_route(&Route::Proxy(url)).await)
    }

    /// Asks the upstream's model list, without credentials, through `route`: any HTTP answer
    /// means the route works.
    pub async fn test_route(&self, route: &Route) -> RouteTest {
        let mut test = RouteTest {
            account_id: None,
            route: route.describe(),
            reachable: false,
            elapsed_ms: 0,
            status: None,
            error: None,
        };
        let http = match self.client_on(route) {
            Ok(http) => http,
            Err(err) => {
                test.error = Some(err.to_string());
                return test;
            }
        };
        let url = format!("{}/models", self.config().upstream_base_url);
        let started = Instant::now();
        let answer = http.get(&url).timeout(TEST_TIMEOUT).send().await;
        test.elapsed_ms = started.elapsed().as_millis() as u64;
        match answer {
            Ok(response) if route.is_proxy() && response.status().as_u16() == 407 => {
                test.status = Some(407);
                test.error = Some(format!(
                    "proxy unreachable ({}): the proxy refused the user name or password (407)",
                    route.describe()
                ));
            }
            Ok(response) => {
                test.reachable = true;
                test.status = Some(response.status().as_u16());
            }
            Err(err) => {
                test.error = Some(crate::egress::proxy_failure(route, &err).unwrap_or_else(|| {
                    if err.is_timeout() {
                        format!("the upstream did not answer within {} s", TEST_TIMEOUT.as_secs())
                    } else {
                        format!("cannot reach {url}: {}", error_chain(&err))
                    }
                }));
            }
        }
        test
    }
}

/// An error and its causes on one line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
        source = source.and_then(std::error::Error::source);
    }
    text
}
