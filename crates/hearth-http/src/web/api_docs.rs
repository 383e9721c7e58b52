//! `GET /api/docs`: the OpenAPI document (`crate::routes::openapi`) as a
//! page people read: every operation by tag, with its parameters, body
//! and answers, then every schema. Rendered here, on the server, from the
//! same document `/api/v1/openapi.json` serves, so the two never differ;
//! no script, like every other page.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde_json::{Map, Value};

use super::forms;
use super::pages::page;
use crate::ApiState;
use crate::routes::openapi::document;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub async fn show(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    let session = forms::session(&state.app, &headers).await;
    let base = state.app.urls().page("/").to_string();
    let doc = serde_json::to_value(document(&base)).unwrap_or(Value::Null);
    page(
        &state,
        &headers,
        session.as_ref(),
        "API",
        StatusCode::OK,
        |_| content(&doc),
    )
}

fn content(doc: &Value) -> Markup {
    let empty = Map::new();
    let paths = doc["paths"].as_object().unwrap_or(&empty);
    let tags = doc["tags"].as_array().cloned().unwrap_or_default();
    html! {
        h1 { "The Hearth API" }
        p { (doc["info"]["description"].as_str().unwrap_or_default()) }
        p {
            "The same description, for programs: "
            a href="/api/v1/openapi.json" { "/api/v1/openapi.json" }
            " (OpenAPI " (doc["openapi"].as_str().unwrap_or_default()) ")."
        }
        nav aria-labelledby="api-contents" {
            h2 id="api-contents" { "Contents" }
            ul {
                @for tag in &tags {
                    @let name = tag["name"].as_str().unwrap_or_default();
                    li { a href=(format!("#tag-{name}")) { (name) } " – " (tag["description"].as_str().unwrap_or_default()) }
                }
                li { a href="#schemas" { "Schemas" } }
            }
        }
        @for tag in &tags {
            @let name = tag["name"].as_str().unwrap_or_default();
            section aria-labelledby=(format!("tag-{name}")) {
                h2 id=(format!("tag-{name}")) { (name) }
                @for (path, item) in paths {
                    @for method in METHODS {
                        @if let Some(op) = item.get(method) {
                            @if op["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == name)) {
                                (operation(method, path, op))
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="schemas" {
            h2 id="schemas" { "Schemas" }
            @for (name, schema) in doc["components"]["schemas"].as_object().unwrap_or(&empty) {
                (schema_section(name, schema))
            }
        }
    }
}

fn operation(method: &str, path: &str, op: &Value) -> Markup {
    let id = op["operationId"].as_str().unwrap_or_default();
    let secured = op["security"]
        .as_array()
        .is_some_and(|s| !s.iter().any(|r| r.as_object().is_some_and(Map::is_empty)));
    html! {
        article class="card" aria-labelledby=(format!("op-{id}")) {
            h3 id=(format!("op-{id}")) { code { (method.to_uppercase()) " " (path) } }
            @if let Some(summary) = op["summary"].as_str() { p { (summary) } }
            @if let Some(description) = op["description"].as_str() { p { (description) } }
            p { @if secured { "Needs a bearer token." } @else if op["security"].is_array() { "A bearer token is optional." } @else { "Open to anyone." } }
            @if let Some(params) = op["parameters"].as_array() {
                table {
                    caption { "Parameters" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "In" } th scope="col" { "Type" } th scope="col" { "Required" } th scope="col" { "About" } } }
                    tbody {
                        @for p in params {
                            tr {
                                td { code { (p["name"].as_str().unwrap_or_default()) } }
                                td { (p["in"].as_str().unwrap_or_default()) }
                                td { (type_of(&p["schema"])) }
                                td { @if p["required"].as_bool() == Some(true) { "yes" } @else { "no" } }
                                td { (p["description"].as_str().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
            @if let Some(body) = op["requestBody"]["content"]["application/json"]["schema"].as_object() {
                p { "Body (JSON): " (type_of(&Value::Object(body.clone()))) }
            }
            dl {
                @for (status, answer) in op["responses"].as_object().into_iter().flatten() {
                    dt { (status) }
                    dd { (answer_text(answer)) }
                }
            }
        }
    }
}

/// What an answer is: its description and schema, or the shared problem
/// answer it refers to.
fn answer_text(answer: &Value) -> Markup {
    if let Some(reference) = answer["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return html! { "A problem document (" a href="#schema-Problem" { "Problem" } "): " (shared_answer(name)) };
    }
    let schema = answer["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .map(|c| c["schema"].clone())
        .unwrap_or(Value::Null);
    html! {
        (answer["description"].as_str().unwrap_or_default())
        @if !schema.is_null() { " – " (type_of(&schema)) }
    }
}

fn shared_answer(name: &str) -> &'static str {
    match name {
        "Unauthenticated" => "no valid bearer token.",
        "Invalid" => {
            "the body could not be read, or a field is not valid (every problem is listed in errors)."
        }
        _ => "any other error; its type says which.",
    }
}

/// A schema as words, linking named schemas.
fn type_of(schema: &Value) -> Markup {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return html! { a href=(format!("#schema-{name}")) { (name) } };
    }
    if let Some(options) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return html! {
            @for (i, option) in options.iter().enumerate() {
                @if i > 0 { " or " }
                (type_of(option))
            }
        };
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    html! {
        @for (i, t) in types.iter().enumerate() {
            @if i > 0 { " or " }
            @if *t == "array" {
                "array of " (type_of(&schema["items"]))
            } @else {
                (t)
            }
        }
        @if types.is_empty() { "any JSON" }
        @if let Some(values) = schema["enum"].as_array() {
            " (one of: "
            @for (i, v) in values.iter().enumerate() {
                @if i > 0 { ", " }
                code { (v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())) }
            }
            ")"
        }
    }
}

fn schema_section(name: &str, schema: &Value) -> Markup {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    html! {
        article class="card" aria-labelledby=(format!("schema-{name}")) {
            h3 id=(format!("schema-{name}")) { (name) }
            @if let Some(description) = schema["description"].as_str() { p { (description) } }
            @if let Some(properties) = schema["properties"].as_object() {
                table {
                    caption { "Fields of " (name) }
                    thead { tr { th scope="col" { "Field" } th scope="col" { "Type" } th scope="col" { "Always there" } th scope="col" { "About" } } }
                    tbody {
                        @for (field, property) in properties {
                            tr {
                                td { code { (field) } }
                                td { (type_of(property)) }
                                td { @if required.contains(&field.as_str()) { "yes" } @else { "no" } }
                                td { (property["description"].as_str().unwrap_or_default()) }
                            }
                        }
                    }
                }
            } @else {
                p { (type_of(schema)) }
            }
        }
    }
}
