//! Distributed tracing's model: W3C trace context (`traceparent`), the spans and log records nano exports, and what
//! an app's runtime reports of a request it served. Pure data and parsing; exporters live in the adapters.

/// The W3C `traceparent` header.
pub const TRACEPARENT: &str = "traceparent";

/// Where a piece of work sits in a trace: the trace and the span it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
}

impl TraceContext {
    /// A new trace's first span.
    pub fn root() -> Self {
        Self {
            trace_id: nonzero(rand::random()),
            span_id: nonzero(rand::random()),
            sampled: true,
        }
    }

    /// A new span of the same trace, as a child of this one.
    pub fn child(&self) -> Self {
        Self {
            span_id: nonzero(rand::random()),
            ..*self
        }
    }

    /// A `traceparent` value (`00-<trace>-<span>-<flags>`), version 00 or a later one read as 00; `None` when
    /// malformed or with an all-zero id, as the W3C spec says to ignore it.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace, span, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let lower_hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if !(lower_hex(version) && lower_hex(trace) && lower_hex(span) && lower_hex(flags)) {
            return None;
        }
        let trace_id: [u8; 16] = hex::decode(trace).ok()?.try_into().ok()?;
        let span_id: [u8; 8] = hex::decode(span).ok()?.try_into().ok()?;
        let flags: [u8; 1] = hex::decode(flags).ok()?.try_into().ok()?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            span_id,
            sampled: flags[0] & 1 == 1,
        })
    }

    /// This context as a `traceparent` value.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            u8::from(self.sampled)
        )
    }
}

fn nonzero<const N: usize>(mut id: [u8; N]) -> [u8; N] {
    if id == [0; N] {
        id[N - 1] = 1;
    }
    id
}

/// What a span is to the trace: work nano serves, or a call it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanKind {
    Server,
    Client,
    Internal,
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// One finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub context: TraceContext,
    pub parent_span_id: Option<[u8; 8]>,
    pub name: String,
    pub kind: SpanKind,
    pub start_nanos: u64,
    pub end_nanos: u64,
    pub attributes: Vec<(&'static str, AttrValue)>,
    /// The work failed (a 5xx, a limit, a failed call).
    pub error: bool,
}

/// One log record, in the span it was written in when there was one.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub time_nanos: u64,
    /// `debug`, `info`, `warn` or `error`.
    pub level: String,
    pub body: String,
    pub context: Option<TraceContext>,
    pub attributes: Vec<(&'static str, AttrValue)>,
}

/// What an app's runtime tells the front end about a request it answered, in the response's extensions: the
/// version that served it and the CPU it had used when the response head was ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// The version's id (shown in hex).
    pub version: u64,
    pub cpu_micros: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_what_the_spec_ignores() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let ctx = TraceContext::parse(header).unwrap();
        assert_eq!(ctx.traceparent(), header);
        assert!(ctx.sampled);
        let child = ctx.child();
        assert_eq!(child.trace_id, ctx.trace_id);
        assert_ne!(child.span_id, ctx.span_id);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
        assert!(
            TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x")
                .is_some()
        );
    }
}
