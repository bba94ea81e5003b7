//! `roster-emulator`: a local stand-in for the three vendors' user APIs, for rehearsing a
//! go-live with `roster push` and for its tests. It speaks the vendors' paths, methods,
//! authentication and answer shapes, keeps users in SQLite (memory or a file), lets them be
//! read back, and injects faults on request (see [`config::Faults`]).
//!
//! Endpoints (on 127.0.0.1, HTTP or HTTPS):
//! - `POST /seiapi/v3/bulk/Users`, `GET /seiapi/v3/trans/User/{UserID}` (ServicePower,
//!   `x-access-token`);
//! - `POST /oAuth/rest/v2/Token`, `PATCH /Endpoint/rest/api/v1/Location/{Id}/Users`
//!   (eSystems, client credentials for a bearer token);
//! - `POST /{Workspace}/UserImport` (Field Squared, bearer token);
//! - `GET /_emulator/{vendor}/users` (every stored user and the creates counted per key) and
//!   `GET /_emulator/stats` (requests, answers by status, connections dropped, tunnels);
//! - `CONNECT` to any host: a tunnel to the emulator itself, so it can stand in for a proxy.

pub mod config;

mod auth;
mod esystems;
mod faults;
mod fieldsquared;
mod server;
mod servicepower;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use rusqlite::Connection;
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub use config::Config;
use faults::{Fate, Injector};
use server::Hangup;
use store::Store;

/// Starts the emulator and serves until the process ends. The first line on stdout is
/// `roster-emulator listening on http://127.0.0.1:PORT`.
pub fn run(config: Config) -> Result<(), String> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(server::tls(cert, key)?),
        _ => None,
    };
    let emulator = Arc::new(Emulator {
        store: Store::open(config.db.as_deref())?,
        auth: auth::Auth::new(&config),
        faults: Injector::new(config.faults.clone()),
        statuses: Mutex::new(BTreeMap::new()),
        dropped: AtomicU64::new(0),
        tunnels: Arc::new(AtomicU64::new(0)),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start: {e}"))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", config.port))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("cannot listen: {e}"))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "roster-emulator listening on {scheme}://{address}");
        let _ = stdout.flush();
        let tunnels = emulator.tunnels.clone();
        server::serve(listener, router(emulator), tls, tunnels).await;
        Ok(())
    })
}

/// What the handlers share.
struct Emulator {
    store: Store,
    auth: auth::Auth,
    faults: Injector,
    statuses: Mutex<BTreeMap<u16, u64>>,
    dropped: AtomicU64,
    tunnels: Arc<AtomicU64>,
}

type App = State<Arc<Emulator>>;

fn router(emulator: Arc<Emulator>) -> Router {
    Router::new()
        .route("/seiapi/v3/bulk/Users", post(servicepower_bulk))
        .route("/seiapi/v3/trans/User/{user_id}", get(servicepower_user))
        .route("/oAuth/rest/v2/Token", post(esystems_token))
        .route(
            "/Endpoint/rest/api/v1/Location/{id}/Users",
            patch(esystems_users),
        )
        .route("/{workspace}/UserImport", post(fieldsquared_import))
        .route("/_emulator/{vendor}/users", get(dump))
        .route("/_emulator/stats", get(stats))
        .with_state(emulator)
}

/// The vendor a request is for, which decides the shape of its error bodies.
#[derive(Clone, Copy)]
enum Api {
    ServicePower,
    ESystems,
    FieldSquared,
}

impl Api {
    fn error(self, status: u16, message: &str) -> Value {
        match self {
            Api::ServicePower => servicepower::answer(status, message, "", json!({})),
            Api::ESystems => {
                let title = StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                esystems::error(status, title, &[message.to_string()], "")
            }
            Api::FieldSquared => {
                let code = match status {
                    401 => "Unauthorized",
                    429 => "TooManyRequests",
                    _ => "ServiceUnavailable",
                };
                fieldsquared::error(code, message, Vec::new())
            }
        }
    }
}

impl Emulator {
    /// Runs a vendor API request through authentication and the injected faults, then
    /// `work` in one transaction of the store.
    async fn handle(
        self: Arc<Self>,
        api: Api,
        authorised: Result<(), auth::Refusal>,
        hangup: Hangup,
        work: impl FnOnce(&Emulator, &Connection) -> rusqlite::Result<(u16, Value)> + Send + 'static,
    ) -> Response {
        let fate = self.faults.next();
        let latency = self.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let (status, body, header) = match (authorised, fate) {
            (Err(refusal), _) => (401, api.error(401, &refusal), None),
            (Ok(()), Fate::Throttled(name, value)) => (
                429,
                api.error(429, "too many requests; wait as the answer's header says"),
                Some((name, value)),
            ),
            (Ok(()), Fate::Failed(status)) => (
                status.as_u16(),
                api.error(status.as_u16(), "the service is unavailable; try again"),
                None,
            ),
            (Ok(()), Fate::Served { dropped }) => {
                let app = self.clone();
                let done =
                    tokio::task::spawn_blocking(move || app.store.transaction(|c| work(&app, c)))
                        .await;
                match done {
                    Ok(Ok((status, body))) if dropped => {
                        let _ = (status, body);
                        self.dropped.fetch_add(1, Ordering::SeqCst);
                        hangup.now();
                        return std::future::pending().await;
                    }
                    Ok(Ok((status, body))) => (status, body, None),
                    _ => (500, api.error(500, "the emulator's store failed"), None),
                }
            }
        };
        *self
            .statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(status)
            .or_default() += 1;
        let mut response = answer(status, body);
        if let Some((name, value)) = header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

fn answer(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

async fn servicepower_bulk(
    State(app): App,
    Extension(hangup): Extension<Hangup>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorised = app.auth.servicepower(&headers);
    app.handle(Api::ServicePower, authorised, hangup, move |app, conn| {
        servicepower::bulk(conn, &app.faults, &body)
    })
    .await
}

async fn servicepower_user(
    State(app): App,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refusal) = app.auth.servicepower(&headers) {
        return answer(401, Api::ServicePower.error(401, &refusal));
    }
    match app
        .store
        .transaction(|conn| servicepower::user(conn, &user_id))
    {
        Ok((status, body)) => answer(status, body),
        Err(_) => answer(500, Api::ServicePower.error(500, "the store failed")),
    }
}

async fn esystems_token(
    State(app): App,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.map(|Form(form)| form).unwrap_or_default();
    match app.auth.issue(&headers, &form) {
        Ok(issued) => answer(
            200,
            json!({"access_token": issued.access_token, "token_type": "Bearer", "expires_in": issued.expires_in}),
        ),
        Err((status, error)) => answer(status, json!({"error": error})),
    }
}

async fn esystems_users(
    State(app): App,
    Extension(hangup): Extension<Hangup>,
    Path(location): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorised = app.auth.esystems(&headers);
    app.handle(Api::ESystems, authorised, hangup, move |app, conn| {
        let request = esystems::Patch {
            location: &location,
            key_field: query.get("Name").map_or("Id", String::as_str),
            delete_not_exists: query
                .get("DeleteNotExists")
                .is_some_and(|d| d.eq_ignore_ascii_case("true")),
            body: &body,
        };
        esystems::patch(conn, &app.faults, &request)
    })
    .await
}

async fn fieldsquared_import(
    State(app): App,
    Extension(hangup): Extension<Hangup>,
    Path(workspace): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorised = app.auth.fieldsquared(&headers);
    app.handle(Api::FieldSquared, authorised, hangup, move |app, conn| {
        fieldsquared::import(conn, &app.faults, &workspace, &body)
    })
    .await
}

async fn dump(State(app): App, Path(vendor): Path<String>) -> Response {
    if !["servicepower", "esystems", "fieldsquared"].contains(&vendor.as_str()) {
        return answer(404, json!({"error": format!("no vendor `{vendor}`")}));
    }
    match app.store.dump(&vendor) {
        Ok((users, creates)) => answer(200, json!({"users": users, "creates": creates})),
        Err(e) => answer(500, json!({"error": e.to_string()})),
    }
}

async fn stats(State(app): App) -> Response {
    let statuses = app
        .statuses
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    answer(
        200,
        json!({
            "requests": app.faults.requests(),
            "statuses": statuses,
            "dropped": app.dropped.load(Ordering::SeqCst),
            "tunnels": app.tunnels.load(Ordering::SeqCst),
        }),
    )
}
