//! sqlx's SQLite driver with `runtime-tokio`: a pool, a table, inserts and a query, on the
//! patched `tokio` (sqlx runs SQLite on a worker thread and talks to it through tokio's
//! channels and `spawn_blocking`).

mod common;

#[tokio::test]
async fn sqlite_pool_insert_and_query() {
    common::bounded(async {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            // One connection: each connection to `sqlite::memory:` is a database of its own.
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("connect sqlite::memory:");
        sqlx::query("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
            .execute(&pool)
            .await
            .expect("create table");
        for body in ["first", "second", "third"] {
            sqlx::query("INSERT INTO notes (body) VALUES (?)")
                .bind(body)
                .execute(&pool)
                .await
                .expect("insert");
        }
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, body FROM notes ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("select");
        assert_eq!(rows, [(1, "first".into()), (2, "second".into()), (3, "third".into())]);
        pool.close().await;
    })
    .await
}
