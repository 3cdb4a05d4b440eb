//! The answers every operation shares, added to the OpenAPI document in one place from what each
//! operation declares, so handlers document only what is theirs alone (403 for a permission, 409
//! for a duplicate, 422 for a rule) and the document stays exact as the edge changes:
//!
//! | the operation has                  | so it can answer                                         |
//! |------------------------------------|----------------------------------------------------------|
//! | `security` (a bearer token)        | 401 bad token, 429 rate limited, 503 (standing check)    |
//! | a path parameter                   | 404 (absent, another company's, or no id at all)         |
//! | a query parameter                  | 400 (unknown or invalid parameter, named)                |
//! | a request body                     | 400 (named fields), 413, 415, 503                        |
//! | an `Idempotency-Key` header        | 400 (malformed key), 422 (key reused with another body)  |
//! | an `If-Match` header               | 400 (malformed), 409 (stale version), 428 (no version)   |
//!
//! Every error response is `application/problem+json` with the `Problem` schema; 429 and 503
//! carry `Retry-After`. A status a handler also declares keeps its description first.

use std::collections::BTreeMap;

use utoipa::openapi::content::Content;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::json::BODY_LIMIT;
use crate::{Id, Problem};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Adds the shared answers to every operation of `doc`, and the schemas of the shared types
/// (`Problem`, `Id`) to its components.
pub fn complete(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    let mut schemas = vec![(Problem::name().to_string(), Problem::schema()), (Id::name().to_string(), Id::schema())];
    Problem::schemas(&mut schemas);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    for item in doc.paths.paths.values_mut() {
        if let Some(get) = item.get.as_mut() {
            // `keel_http::conditional`: a GET whose `If-None-Match` names the current ETag.
            get.responses.responses.entry("304".to_string()).or_insert_with(|| {
                RefOr::T(Response::new("Not modified since the ETag named in `If-None-Match` (no body)."))
            });
        }
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            complete_operation(op);
        }
    }
}

/// Why an operation can answer each shared status, derived from its declaration.
pub fn shared_answers(op: &Operation) -> BTreeMap<u16, Vec<&'static str>> {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has = |location: ParameterIn| params.iter().any(|p| p.parameter_in == location);
    let header =
        |name: &str| params.iter().any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(name));
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let body = op.request_body.is_some();
    let mut answers: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    let mut add = |status: u16, why: &'static str| answers.entry(status).or_default().push(why);
    if has(ParameterIn::Query) {
        add(400, "a query parameter is unknown or invalid (`errors` names it)");
    }
    if body {
        add(400, "the body is not JSON, or a field is missing, unknown or invalid (`errors` names each)");
        add(413, BODY_TOO_LARGE);
        add(415, "the body is not sent as `application/json`");
    }
    if header("Idempotency-Key") {
        add(400, "`Idempotency-Key` is not 1-255 visible ASCII characters");
        add(422, "the `Idempotency-Key` was used with another body");
    }
    if header("If-Match") {
        add(400, "`If-Match` is not an ETag this API sent");
        add(409, "the record changed since you read it (`current_version` says to what)");
        add(428, "no version given: send `If-Match` or `version`");
    }
    if secured {
        add(401, "no bearer token, or one that is invalid, expired or revoked");
    }
    if has(ParameterIn::Path) {
        add(
            404,
            "nothing exists at this address for your company (a parameter no record can have is named in `errors`)",
        );
    }
    if secured {
        add(429, "your company or you sent too many requests: retry after `Retry-After` seconds");
    }
    if secured || body {
        add(503, "temporarily unavailable: retry after `Retry-After` seconds");
    }
    answers
}

const BODY_TOO_LARGE: &str = {
    assert!(BODY_LIMIT == 256 * 1024, "say the new limit below");
    "the body is larger than 256 KB"
};

fn complete_operation(op: &mut Operation) {
    let mut reasons: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    // What the handler declared for itself comes first.
    for (status, response) in &op.responses.responses {
        let (Ok(code), RefOr::T(response)) = (status.parse::<u16>(), response) else { continue };
        if code < 400 || !is_problem(response) {
            continue;
        }
        let own = reasons.entry(code).or_default();
        if !response.description.trim().is_empty() {
            own.push(response.description.trim().trim_end_matches('.').to_string());
        }
    }
    for (code, why) in shared_answers(op) {
        reasons.entry(code).or_default().extend(why.into_iter().map(str::to_string));
    }
    for (code, why) in reasons {
        op.responses.responses.insert(code.to_string(), RefOr::T(problem_response(code, &why)));
    }
}

/// An error response that is (or is to become) a problem: no body declared, or a `Problem` one.
/// Anything else (health's 503 with its own body) is the handler's and stays as it is.
fn is_problem(response: &Response) -> bool {
    response.content.values().all(|c| match &c.schema {
        Some(RefOr::Ref(r)) => r.ref_location.ends_with("/Problem"),
        None => true,
        Some(RefOr::T(_)) => false,
    })
}

fn problem_response(code: u16, reasons: &[String]) -> Response {
    let mut description = reasons.join("; ");
    if let Some(first) = description.get(..1) {
        description.replace_range(..1, &first.to_uppercase());
    }
    description.push('.');
    let mut response = Response::new(description);
    response.content.insert(PROBLEM_JSON.to_string(), Content::new(Some(Ref::from_schema_name("Problem"))));
    if matches!(code, 429 | 503) {
        let seconds = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0));
        response.headers.insert(
            "Retry-After".to_string(),
            HeaderBuilder::new().schema(seconds).description(Some("Seconds to wait before retrying")).build(),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{OperationBuilder, ParameterBuilder};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::security::SecurityRequirement;
    use utoipa::openapi::{PathItem, PathsBuilder};

    fn statuses(doc: &OpenApi, path: &str) -> Vec<String> {
        let op = doc.paths.paths[path].patch.as_ref().or(doc.paths.paths[path].get.as_ref()).unwrap();
        op.responses.responses.keys().cloned().collect()
    }

    #[test]
    fn shared_answers_follow_the_declaration() {
        let patch = OperationBuilder::new()
            .parameter(ParameterBuilder::new().name("company_id").parameter_in(ParameterIn::Path))
            .parameter(ParameterBuilder::new().name("If-Match").parameter_in(ParameterIn::Header))
            .request_body(Some(RequestBodyBuilder::new().build()))
            .security(SecurityRequirement::new("bearer", Vec::<String>::new()))
            .response("200", Response::new("ok"))
            .response("403", Response::new("Role may not edit"))
            .build();
        let open = OperationBuilder::new().response("200", Response::new("ok")).build();
        let mut doc = OpenApi::default();
        doc.paths = PathsBuilder::new()
            .path("/x/{company_id}", PathItem::new(utoipa::openapi::HttpMethod::Patch, patch))
            .path("/open", PathItem::new(utoipa::openapi::HttpMethod::Get, open))
            .build();
        complete(&mut doc);
        assert_eq!(
            statuses(&doc, "/x/{company_id}"),
            ["200", "400", "401", "403", "404", "409", "413", "415", "428", "429", "503"]
        );
        assert_eq!(statuses(&doc, "/open"), ["200", "304"], "a GET answers 304 to a matching If-None-Match");
        let op = doc.paths.paths["/x/{company_id}"].patch.as_ref().unwrap();
        let RefOr::T(r429) = &op.responses.responses["429"] else { panic!() };
        assert!(r429.headers.contains_key("Retry-After") && r429.content.contains_key(PROBLEM_JSON));
        let RefOr::T(r403) = &op.responses.responses["403"] else { panic!() };
        assert_eq!(r403.description, "Role may not edit.");
        let schemas = doc.components.unwrap().schemas;
        assert!(["Problem", "FieldError", "Id"].iter().all(|s| schemas.contains_key(*s)));
    }
}
