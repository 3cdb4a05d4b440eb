//! The dev server's API Gateway: each request goes to the function that owns its route in
//! template.yaml, through that function's own router and state (as each Lambda has its own), and a
//! route the template does not have is a 404 here too. So a route, a function or a permission that
//! works only because everything runs in one process cannot pass locally and fail in AWS.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::Router;
use keel_function::{Runtime, Trigger};
use keel_http::{with_edge, ApiError};
use keel_store::RequestCounter;
use tower::ServiceExt;

use crate::local_template::{self, HttpRoute};
use crate::registry;

enum Segment {
    Literal(String),
    Param,
    /// `{proxy+}`: the rest of the path, at least one segment.
    Greedy,
}

struct Route {
    /// None: `ANY`.
    method: Option<Method>,
    segments: Vec<Segment>,
    function: usize,
}

impl Route {
    fn parse(route: &HttpRoute, function: usize) -> Route {
        let method = match route.method.as_str() {
            "ANY" => None,
            m => Some(Method::from_bytes(m.as_bytes()).unwrap_or(Method::GET)),
        };
        let segments = route
            .path
            .trim_start_matches('/')
            .split('/')
            .map(|s| match s {
                _ if s.starts_with('{') && s.ends_with("+}") => Segment::Greedy,
                _ if s.starts_with('{') && s.ends_with('}') => Segment::Param,
                _ => Segment::Literal(s.to_string()),
            })
            .collect();
        Route { method, segments, function }
    }

    /// How specific the match is (API Gateway prefers literal segments, then a method over ANY),
    /// or None when the request does not match.
    fn matches(&self, method: &Method, path: &[&str]) -> Option<(usize, bool)> {
        if self.method.as_ref().is_some_and(|m| m != method) {
            return None;
        }
        let mut literals = 0;
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Greedy => {
                    return (path.len() > i && path[i..].iter().all(|s| !s.is_empty()))
                        .then_some((literals, self.method.is_some()));
                }
                Segment::Param if path.get(i).is_some_and(|s| !s.is_empty()) => {}
                Segment::Literal(l) if path.get(i) == Some(&l.as_str()) => literals += 1,
                _ => return None,
            }
        }
        (path.len() == self.segments.len()).then_some((literals, self.method.is_some()))
    }
}

struct RouteTable {
    routes: Vec<Route>,
    functions: Vec<Router>,
}

impl RouteTable {
    async fn dispatch(&self, req: Request) -> Response {
        let path: Vec<&str> = req.uri().path().trim_start_matches('/').split('/').collect();
        let best = self
            .routes
            .iter()
            .filter_map(|r| r.matches(req.method(), &path).map(|rank| (rank, r.function)))
            .max_by_key(|(rank, _)| *rank);
        match best {
            Some((_, function)) => {
                let router = self.functions[function].clone();
                router.oneshot(req).await.into_response()
            }
            None => ApiError::NotFound.into_response(),
        }
    }
}

/// Every HTTP function of the registry behind the routes template.yaml gives it. All functions
/// count their DynamoDB requests into `requests`.
pub async fn gateway(requests: RequestCounter) -> Result<Router, String> {
    let local = local_template::load()?;
    let mut routes = Vec::new();
    let mut functions = Vec::new();
    for function in registry::functions() {
        let Trigger::Http { app, .. } = function.trigger else { continue };
        let described = local
            .get(function.logical_id)
            .ok_or_else(|| format!("{} is declared but not in template.yaml", function.logical_id))?;
        let runtime = Runtime::with_counter(function.logical_id, requests.clone()).await;
        let index = functions.len();
        functions.push(with_edge(app(runtime).await?));
        routes.extend(described.http.iter().map(|r| Route::parse(r, index)));
    }
    let table = Arc::new(RouteTable { routes, functions });
    Ok(Router::new().fallback(move |req: Request| {
        let table = table.clone();
        async move { table.dispatch(req).await }
    }))
}
