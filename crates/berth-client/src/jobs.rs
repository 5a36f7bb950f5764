//! Routes of the job engine: jobs, their logs and live event stream, job
//! kinds, and recurring schedules.

use crate::sse::{SseEvent, SseParser};
use crate::{Client, ClientError, check};
use berth_proto::api::Page;
use berth_proto::api::jobs::{
    CreateJob, CreateSchedule, Job, JobKindInfo, JobLogLine, JobQuery, LogQuery, Schedule, UpdateSchedule,
};
use berth_proto::{JobId, ScheduleId};
use futures::stream::{self, BoxStream, Stream, StreamExt};
use reqwest::{Method, RequestBuilder};
use std::collections::VecDeque;

/// One event of `GET /api/v1/jobs/{id}/stream`.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// A new log line.
    Log(JobLogLine),
    /// The job changed state (steps may be empty here).
    State(Job),
    /// The job reached a final state; the stream ends after this.
    End(Job),
}

impl StreamEvent {
    /// Decode one SSE event. `Ok(None)` for event types this client does not
    /// know, so the server can add new ones without breaking old clients.
    fn decode(ev: &SseEvent) -> Result<Option<StreamEvent>, ClientError> {
        let bad = |e: serde_json::Error| ClientError::Decode(format!("job stream `{}` event: {e}", ev.event));
        Ok(Some(match ev.event.as_str() {
            "log" => StreamEvent::Log(serde_json::from_str(&ev.data).map_err(bad)?),
            "state" => StreamEvent::State(serde_json::from_str(&ev.data).map_err(bad)?),
            "end" => StreamEvent::End(serde_json::from_str(&ev.data).map_err(bad)?),
            _ => return Ok(None),
        }))
    }
}

impl Client {
    /// `GET /api/v1/jobs`.
    pub async fn list_jobs(&self, q: &JobQuery) -> Result<Page<Job>, ClientError> {
        self.get_query("/api/v1/jobs", q).await
    }

    /// `POST /api/v1/jobs`. When the idempotency key matched an existing job,
    /// that job is returned; see [`Client::create_job_with_status`] to tell.
    pub async fn create_job(&self, req: &CreateJob) -> Result<Job, ClientError> {
        self.send_json(Method::POST, "/api/v1/jobs", req).await
    }

    /// `POST /api/v1/jobs`, also saying whether the job is new (201) or an
    /// existing one with the same idempotency key (200).
    pub async fn create_job_with_status(&self, req: &CreateJob) -> Result<(Job, bool), ClientError> {
        let rb = self.build(Method::POST, "/api/v1/jobs", &[], Some(req))?;
        let (status, job) = self.call_with_status(rb).await?;
        Ok((job, status == 201))
    }

    /// `GET /api/v1/jobs/kinds`.
    pub async fn job_kinds(&self) -> Result<Vec<JobKindInfo>, ClientError> {
        self.get("/api/v1/jobs/kinds").await
    }

    /// `GET /api/v1/jobs/{id}` (with steps).
    pub async fn get_job(&self, id: JobId) -> Result<Job, ClientError> {
        self.get(&format!("/api/v1/jobs/{id}")).await
    }

    /// `GET /api/v1/jobs/{id}/logs`.
    pub async fn job_logs(&self, id: JobId, q: &LogQuery) -> Result<Vec<JobLogLine>, ClientError> {
        self.get_query(&format!("/api/v1/jobs/{id}/logs"), q).await
    }

    /// `POST /api/v1/jobs/{id}/retry`.
    pub async fn retry_job(&self, id: JobId) -> Result<Job, ClientError> {
        self.post_empty(&format!("/api/v1/jobs/{id}/retry")).await
    }

    /// `POST /api/v1/jobs/{id}/cancel`.
    pub async fn cancel_job(&self, id: JobId) -> Result<Job, ClientError> {
        self.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await
    }

    /// `GET /api/v1/schedules`.
    pub async fn list_schedules(&self) -> Result<Vec<Schedule>, ClientError> {
        self.get("/api/v1/schedules").await
    }

    /// `POST /api/v1/schedules` (201).
    pub async fn create_schedule(&self, req: &CreateSchedule) -> Result<Schedule, ClientError> {
        self.send_json(Method::POST, "/api/v1/schedules", req).await
    }

    /// `PATCH /api/v1/schedules/{id}`.
    pub async fn update_schedule(&self, id: ScheduleId, req: &UpdateSchedule) -> Result<Schedule, ClientError> {
        self.send_json(Method::PATCH, &format!("/api/v1/schedules/{id}"), req)
            .await
    }

    /// `DELETE /api/v1/schedules/{id}`.
    pub async fn delete_schedule(&self, id: ScheduleId) -> Result<(), ClientError> {
        self.delete(&format!("/api/v1/schedules/{id}")).await
    }

    /// `GET /api/v1/jobs/{id}/stream`: the job's log lines and state changes
    /// as they happen, ending after [`StreamEvent::End`].
    ///
    /// The request is sent when the stream is first polled; a failure to
    /// connect (or an API error such as 404) is the first and only item. If
    /// the connection closes before the end event, the last item is a
    /// `Decode` error, so a caller can tell "finished" from "cut off".
    pub fn stream_job(&self, id: JobId) -> impl Stream<Item = Result<StreamEvent, ClientError>> + Send + 'static {
        let start = self.endpoint(&format!("/api/v1/jobs/{id}/stream")).map(|url| {
            // No timeout: a job may run for a long time between events.
            self.request(Method::GET, url)
                .header(reqwest::header::ACCEPT, "text/event-stream")
        });
        stream::unfold(Reading::Start(start), step)
    }
}

/// The state of a job event stream between polls.
enum Reading {
    Start(Result<RequestBuilder, ClientError>),
    Body {
        bytes: BoxStream<'static, Result<Vec<u8>, reqwest::Error>>,
        parser: SseParser,
        pending: VecDeque<SseEvent>,
    },
    Done,
}

type Item = Result<StreamEvent, ClientError>;

async fn step(mut state: Reading) -> Option<(Item, Reading)> {
    loop {
        state = match state {
            Reading::Done => return None,
            Reading::Start(Err(e)) => return Some((Err(e), Reading::Done)),
            Reading::Start(Ok(rb)) => match connect(rb).await {
                Ok(bytes) => Reading::Body {
                    bytes,
                    parser: SseParser::new(),
                    pending: VecDeque::new(),
                },
                Err(e) => return Some((Err(e), Reading::Done)),
            },
            Reading::Body {
                mut bytes,
                mut parser,
                mut pending,
            } => {
                if let Some(ev) = pending.pop_front() {
                    match StreamEvent::decode(&ev) {
                        Ok(Some(se @ StreamEvent::End(_))) => return Some((Ok(se), Reading::Done)),
                        Ok(Some(se)) => {
                            let next = Reading::Body { bytes, parser, pending };
                            return Some((Ok(se), next));
                        }
                        Ok(None) => {}
                        Err(e) => return Some((Err(e), Reading::Done)),
                    }
                    Reading::Body { bytes, parser, pending }
                } else {
                    match bytes.next().await {
                        Some(Ok(chunk)) => {
                            pending.extend(parser.push(&chunk));
                            Reading::Body { bytes, parser, pending }
                        }
                        Some(Err(e)) => return Some((Err(e.into()), Reading::Done)),
                        None => {
                            let e = ClientError::Decode("the job event stream closed before the end event".into());
                            return Some((Err(e), Reading::Done));
                        }
                    }
                }
            }
        };
    }
}

async fn connect(rb: RequestBuilder) -> Result<BoxStream<'static, Result<Vec<u8>, reqwest::Error>>, ClientError> {
    let resp = check(rb.send().await?).await?;
    Ok(resp.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_events_and_skips_unknown_ones() {
        let log = SseEvent {
            event: "log".into(),
            data: r#"{"seq":3,"at":"2025-11-24T16:00:00.123Z","step":null,"level":"info","message":"hi"}"#.into(),
        };
        match StreamEvent::decode(&log) {
            Ok(Some(StreamEvent::Log(l))) => assert_eq!((l.seq, l.message.as_str()), (3, "hi")),
            other => panic!("unexpected {other:?}"),
        }
        let future = SseEvent {
            event: "progress".into(),
            data: "{}".into(),
        };
        assert!(matches!(StreamEvent::decode(&future), Ok(None)));
        let broken = SseEvent {
            event: "end".into(),
            data: "{".into(),
        };
        assert!(matches!(StreamEvent::decode(&broken), Err(ClientError::Decode(_))));
    }
}
