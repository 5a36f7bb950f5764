//! The client against a tiny canned HTTP server on loopback: request shape
//! (paths, query strings, bearer token), error bodies, and the job event
//! stream delivered in awkward chunks. Tests against the real panel live
//! with the panel and the testkit.

use berth_client::{Client, ClientError, StreamEvent};
use berth_proto::api::jobs::{JobQuery, JobState};
use berth_proto::{ErrorCode, JobId};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the server answers: a status line + headers, and body chunks.
type Canned = (String, Vec<Vec<u8>>);

/// Serve one canned answer per connection; record each request head.
async fn serve(answers: Vec<Canned>) -> (String, Arc<Mutex<Vec<String>>>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (head, chunks) in answers {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut byte = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut byte).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&byte[..n]),
                }
            }
            log.lock()
                .expect("lock")
                .push(String::from_utf8_lossy(&buf).into_owned());
            let _ = sock.write_all(head.as_bytes()).await;
            for c in chunks {
                let _ = sock.write_all(&c).await;
                let _ = sock.flush().await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    });
    (format!("http://{addr}"), seen)
}

fn json_answer(status: &str, body: &str) -> Canned {
    (
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        ),
        vec![body.as_bytes().to_vec()],
    )
}

const JOB: &str = r#"{"id":"0190a0f0-0000-7000-8000-000000000001","queue":"default","kind":"noop","payload":{},"priority":0,"state":"succeeded","attempts":1,"max_attempts":3,"run_at":"2025-11-24T16:00:00Z","idempotency_key":null,"tenant_id":null,"created_by":null,"last_error":null,"cancel_requested":false,"created_at":"2025-11-24T16:00:00Z","updated_at":"2025-11-24T16:00:01Z","started_at":null,"finished_at":null}"#;

#[tokio::test]
async fn lists_send_query_and_token() -> anyhow::Result<()> {
    let page = r#"{"items":[],"total":0,"limit":5,"offset":0}"#;
    let (url, seen) = serve(vec![json_answer("200 OK", page)]).await;
    let client = Client::new(&url)?.with_token("bt_abc");
    let q = JobQuery {
        state: Some(JobState::Dead),
        limit: Some(5),
        ..Default::default()
    };
    let got = client.list_jobs(&q).await?;
    assert_eq!(got.total, 0);
    let head = seen.lock().expect("lock")[0].clone();
    let line = head.lines().next().unwrap_or_default().to_owned();
    assert!(
        line == "GET /api/v1/jobs?state=dead&limit=5 HTTP/1.1"
            || line == "GET /api/v1/jobs?limit=5&state=dead HTTP/1.1",
        "{line}"
    );
    assert!(head.to_ascii_lowercase().contains("authorization: bearer bt_abc"));
    Ok(())
}

#[tokio::test]
async fn errors_keep_the_api_body() -> anyhow::Result<()> {
    let (url, _) = serve(vec![
        json_answer(
            "404 Not Found",
            r#"{"code":"not_found","message":"no such job","request_id":"r-9"}"#,
        ),
        (
            "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 3\r\nconnection: close\r\n\r\n".into(),
            vec![b"bad".to_vec()],
        ),
    ])
    .await;
    let client = Client::new(&url)?;
    let e = client.get_job(JobId::new()).await.expect_err("an error");
    assert_eq!((e.code(), e.status()), (Some(ErrorCode::NotFound), Some(404)));
    assert_eq!(e.api_body().and_then(|b| b.request_id.as_deref()), Some("r-9"));
    let e = client.me().await.expect_err("an error");
    assert_eq!((e.code(), e.status()), (Some(ErrorCode::Internal), Some(502)));
    Ok(())
}

#[tokio::test]
async fn job_stream_survives_split_chunks() -> anyhow::Result<()> {
    let body = format!(
        ": hello\n\nevent: log\ndata: {{\"seq\":1,\"at\":\"2025-11-24T16:00:00Z\",\"step\":0,\"level\":\"info\",\"message\":\"one\"}}\n\nevent: state\ndata: {JOB}\n\nevent: end\ndata: {JOB}\n\n"
    );
    // Split in 7-byte pieces so events, lines and CRLFs straddle chunks.
    let chunks = body.as_bytes().chunks(7).map(<[u8]>::to_vec).collect();
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    let (url, _) = serve(vec![(head.into(), chunks)]).await;
    let client = Client::new(&url)?;
    let events: Vec<_> = client.stream_job(JobId::new()).collect().await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(matches!(&events[0], Ok(StreamEvent::Log(l)) if l.message == "one"));
    assert!(matches!(&events[1], Ok(StreamEvent::State(_))));
    assert!(matches!(&events[2], Ok(StreamEvent::End(j)) if j.state == JobState::Succeeded));
    Ok(())
}

#[tokio::test]
async fn job_stream_reports_a_cut_connection() -> anyhow::Result<()> {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    let (url, _) = serve(vec![(head.into(), vec![b"event: log\ndata: {".to_vec()])]).await;
    let client = Client::new(&url)?;
    let events: Vec<_> = client.stream_job(JobId::new()).collect().await;
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0], Err(ClientError::Decode(_))));
    Ok(())
}

#[tokio::test]
async fn job_stream_reports_api_errors_first() -> anyhow::Result<()> {
    let (url, _) = serve(vec![json_answer(
        "401 Unauthorized",
        r#"{"code":"unauthenticated","message":"log in"}"#,
    )])
    .await;
    let events: Vec<_> = Client::new(&url)?.stream_job(JobId::new()).collect().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().err().and_then(ClientError::status), Some(401));
    Ok(())
}
