//! A small notes-and-quotes service built the way a tokio service is built: axum routes (JSON in
//! and out, path extractors, a websocket), tower-http's `TimeoutLayer` and `TraceLayer` logging
//! through `tracing`, a reqwest call to an upstream HTTP service, and sqlx on SQLite.
//!
//! A request flows through `TraceLayer` (one span and one log line per request), then
//! `TimeoutLayer` (408 when the handler takes longer than [`Config::request_timeout`]), then the
//! route's handler, which reads [`AppState`]: the SQLite pool for `/notes`, the reqwest client and
//! the upstream's base URL for `/quote`. [`run`] serves that router until its `shutdown` future
//! completes, then lets the requests in flight finish before it returns.
//!
//! Nothing here names minirt: the crate is written against `tokio`, and the `[patch.crates-io]`
//! line of Cargo.toml makes that `tokio` minirt's drop-in crate (compat/tokio).

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::Row;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// What the service needs besides its listener.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of the upstream price service (`http://host:port`, no trailing slash).
    pub upstream: String,
    /// A request whose handler takes longer than this is answered 408.
    pub request_timeout: Duration,
}

/// Shared by every handler (cheap to clone: a pool handle, a client handle, a string).
#[derive(Clone)]
pub struct AppState {
    db: SqlitePool,
    http: reqwest::Client,
    upstream: String,
}

/// `POST /notes` body.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct NewNote {
    pub text: String,
}

/// A stored note, as `POST /notes` and `GET /notes/{id}` return it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub id: i64,
    pub text: String,
}

/// What the upstream answers for `GET /price/{item}`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Price {
    pub item: String,
    pub cents: u64,
}

/// `GET /quote/{item}/{qty}`: the upstream's unit price times the quantity.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Quote {
    pub item: String,
    pub qty: u32,
    pub unit_cents: u64,
    pub total_cents: u64,
}

/// `GET /hello/{name}`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Greeting {
    pub greeting: String,
}

/// An error a handler turns into a status and a one-line body.
struct AppError(StatusCode, String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database");
        AppError(StatusCode::INTERNAL_SERVER_ERROR, format!("database: {e}"))
    }
}

/// Opens the in-memory SQLite database and creates its table.
pub async fn open_db() -> Result<SqlitePool, sqlx::Error> {
    let db = SqlitePoolOptions::new()
        // Every connection to `sqlite::memory:` is a database of its own, and the database
        // lives as long as its connection: one connection, never reaped.
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await?;
    sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
        .execute(&db)
        .await?;
    Ok(db)
}

/// The service's routes and middleware over `state`.
pub fn app(state: AppState, request_timeout: Duration) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/hello/{name}", get(hello))
        .route("/notes", post(create_note))
        .route("/notes/{id}", get(get_note))
        .route("/quote/{item}/{qty}", get(quote))
        .route("/slow/{ms}", get(slow))
        .route("/ws", get(ws))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(DefaultOnRequest::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

async fn hello(Path(name): Path<String>) -> Json<Greeting> {
    Json(Greeting { greeting: format!("hello, {name}") })
}

async fn create_note(
    State(st): State<AppState>,
    Json(new): Json<NewNote>,
) -> Result<(StatusCode, Json<Note>), AppError> {
    if new.text.is_empty() {
        return Err(AppError(StatusCode::UNPROCESSABLE_ENTITY, "empty note".into()));
    }
    let row = sqlx::query("INSERT INTO notes (text) VALUES (?) RETURNING id")
        .bind(&new.text)
        .fetch_one(&st.db)
        .await?;
    Ok((StatusCode::CREATED, Json(Note { id: row.try_get("id")?, text: new.text })))
}

async fn get_note(State(st): State<AppState>, Path(id): Path<i64>) -> Result<Json<Note>, AppError> {
    let row = sqlx::query("SELECT id, text FROM notes WHERE id = ?")
        .bind(id)
        .fetch_optional(&st.db)
        .await?
        .ok_or_else(|| AppError(StatusCode::NOT_FOUND, format!("no note {id}")))?;
    Ok(Json(Note { id: row.try_get("id")?, text: row.try_get("text")? }))
}

async fn quote(
    State(st): State<AppState>,
    Path((item, qty)): Path<(String, u32)>,
) -> Result<Json<Quote>, AppError> {
    let bad_gateway = |e: reqwest::Error| {
        tracing::warn!(error = %e, "upstream");
        AppError(StatusCode::BAD_GATEWAY, format!("upstream: {e}"))
    };
    let price: Price = st
        .http
        .get(format!("{}/price/{item}", st.upstream))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(bad_gateway)?
        .json()
        .await
        .map_err(bad_gateway)?;
    Ok(Json(Quote {
        item: price.item,
        qty,
        unit_cents: price.cents,
        total_cents: price.cents * u64::from(qty),
    }))
}

/// Sleeps `ms` milliseconds, then answers: a stand-in for slow work (the timeout and the
/// graceful drain are seen with it).
async fn slow(Path(ms): Path<u64>) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms")
}

async fn ws(upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(echo)
}

/// Answers each text message with `echo: <text>` and each binary message with its bytes
/// reversed, until the client closes.
async fn echo(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(t) => Message::Text(format!("echo: {}", t.as_str()).into()),
            Message::Binary(b) => Message::Binary(b.iter().rev().copied().collect()),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
}

/// The upstream price service: `GET /price/{item}` answers a price derived from the name.
pub fn upstream_app() -> Router {
    Router::new().route(
        "/price/{item}",
        get(|Path(item): Path<String>| async move {
            let cents = 100 + 25 * item.len() as u64;
            Json(Price { item, cents })
        }),
    )
}

/// Serves the upstream on `listener` in a task of its own until `stop` completes.
pub fn spawn_upstream(
    listener: TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<io::Result<()>> {
    tokio::spawn(
        async move { axum::serve(listener, upstream_app()).with_graceful_shutdown(stop).await },
    )
}

/// Serves the service on `listener` until `shutdown` completes, then waits for the requests in
/// flight to finish and closes the database.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let db = open_db().await.map_err(|e| io::Error::other(format!("open sqlite: {e}")))?;
    let state = AppState {
        db: db.clone(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| io::Error::other(format!("build the reqwest client: {e}")))?,
        upstream: config.upstream,
    };
    let served = axum::serve(listener, app(state, config.request_timeout))
        .with_graceful_shutdown(shutdown)
        .await;
    db.close().await;
    served
}

/// Registers for SIGTERM and SIGINT (ctrl-c) now, so that neither kills the process from here
/// on; the future completes on the first of them, naming it in the log.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = int.recv() => tracing::info!("ctrl-c: draining"),
        }
    })
}
