//! A small incremental parser of Server-Sent Events (the `text/event-stream`
//! format), fed with whatever chunks the network delivers.
//!
//! Only what the panel sends is interpreted: `event:` and `data:` fields, a
//! blank line ending an event, `:` comment lines (keep-alives). `id:` and
//! `retry:` are accepted and ignored. Lines may end in LF, CRLF or CR, and a
//! chunk may split a line, a CRLF pair, or a UTF-8 character anywhere.

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, `message` when absent (as in the spec).
    pub event: String,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// Feed bytes with [`SseParser::push`]; complete events come out.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line being received, not yet terminated.
    line: Vec<u8>,
    /// The previous chunk ended with CR, so a leading LF belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
}

/// A line longer than this is not something the panel sends; cap memory use
/// against a misbehaving server.
const MAX_LINE: usize = 4 * 1024 * 1024;

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Consume a chunk and return the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&rest[..pos]);
            let was_cr = rest[pos] == b'\r';
            rest = &rest[pos + 1..];
            if was_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(ev) = self.line_done(&line) {
                out.push(ev);
            }
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE {
            // Drop the oversized line rather than grow without bound.
            self.line.clear();
        }
        out
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseEvent> {
        if line.is_empty() {
            let event = self.event.take();
            let data = self.data.take()?;
            return Some(SseEvent {
                event: event.unwrap_or_else(|| "message".to_owned()),
                data,
            });
        }
        if line.first() == Some(&b':') {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    const STREAM: &str = ": keep-alive\n\nevent: log\ndata: {\"seq\":1,\"m\":\"h\u{e9}\"}\n\nevent:state\r\ndata:{}\r\n\r\nid: 7\ndata: a\ndata: b\n\nevent: end\rdata: x\r\r";

    fn expected() -> Vec<SseEvent> {
        vec![
            ev("log", "{\"seq\":1,\"m\":\"h\u{e9}\"}"),
            ev("state", "{}"),
            ev("message", "a\nb"),
            ev("end", "x"),
        ]
    }

    #[test]
    fn whole_stream() {
        let mut p = SseParser::new();
        assert_eq!(p.push(STREAM.as_bytes()), expected());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        for cut in 0..=bytes.len() {
            let mut p = SseParser::new();
            let mut got = p.push(&bytes[..cut]);
            got.extend(p.push(&bytes[cut..]));
            assert_eq!(got, expected(), "split at {cut}");
        }
    }

    #[test]
    fn byte_by_byte() {
        let mut p = SseParser::new();
        let got: Vec<SseEvent> = STREAM.as_bytes().iter().flat_map(|b| p.push(&[*b])).collect();
        assert_eq!(got, expected());
    }

    #[test]
    fn incomplete_event_is_held_back() {
        let mut p = SseParser::new();
        assert!(p.push(b"event: end\ndata: {}\n").is_empty());
        assert_eq!(p.push(b"\n"), vec![ev("end", "{}")]);
        // An event type without data dispatches nothing and does not leak
        // into the next event.
        assert!(p.push(b"event: state\n\n").is_empty());
        assert_eq!(p.push(b"data: y\n\n"), vec![ev("message", "y")]);
    }
}
