//! Byte-level bookkeeping of the provider's output: bounded captures and the stdout line
//! reader (hello, then response, then everything else). Pure data structures, no I/O.

use std::time::Instant;

use credlab_suite::provider::{Capture, LineRead};

/// A stream stored up to `limit` bytes and counted in full.
#[derive(Debug)]
pub(crate) struct BoundedCapture {
    bytes: Vec<u8>,
    total: u64,
    limit: usize,
}

impl BoundedCapture {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            bytes: Vec::new(),
            total: 0,
            limit,
        }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let room = self.limit.saturating_sub(self.bytes.len());
        self.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    pub(crate) fn into_capture(self) -> Capture {
        Capture {
            bytes: self.bytes,
            total: self.total,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Hello,
    Response,
    Trailing,
}

/// Splits stdout into the hello line, the response line (when one is expected) and the
/// trailing bytes. A line is the bytes before the first `\n`; at most `line_limit` bytes are
/// buffered for it.
#[derive(Debug)]
pub(crate) struct StdoutReader {
    stage: Stage,
    read_response: bool,
    line: Vec<u8>,
    line_limit: usize,
    hello: Option<(LineRead, Instant)>,
    response: Option<(LineRead, Instant)>,
    trailing: BoundedCapture,
}

impl StdoutReader {
    pub(crate) fn new(read_response: bool, line_limit: usize, capture_limit: usize) -> Self {
        Self {
            stage: Stage::Hello,
            read_response,
            line: Vec::new(),
            line_limit,
            hello: None,
            response: None,
            trailing: BoundedCapture::new(capture_limit),
        }
    }

    /// The hello's outcome and when it was decided, once it is.
    pub(crate) fn hello(&self) -> Option<&(LineRead, Instant)> {
        self.hello.as_ref()
    }

    pub(crate) fn response(&self) -> Option<&(LineRead, Instant)> {
        self.response.as_ref()
    }

    /// Bytes read from stdout at time `now`.
    pub(crate) fn feed(&mut self, mut data: &[u8], now: Instant) {
        while !data.is_empty() {
            if self.stage == Stage::Trailing {
                self.trailing.push(data);
                return;
            }
            let room = self.line_limit - self.line.len();
            match data.iter().position(|&b| b == b'\n') {
                Some(nl) if nl <= room => {
                    self.line.extend_from_slice(&data[..nl]);
                    let bytes = std::mem::take(&mut self.line);
                    self.finish(LineRead::Line { bytes }, now);
                    data = &data[nl + 1..];
                }
                _ if data.len() <= room => {
                    self.line.extend_from_slice(data);
                    return;
                }
                _ => {
                    self.line.extend_from_slice(&data[..room]);
                    let prefix = std::mem::take(&mut self.line);
                    let limit = self.line_limit;
                    self.finish(LineRead::TooLong { prefix, limit }, now);
                    data = &data[room..];
                }
            }
        }
    }

    /// stdout reached EOF.
    pub(crate) fn end(&mut self, now: Instant) {
        if self.stage != Stage::Trailing {
            let bytes = std::mem::take(&mut self.line);
            self.finish(LineRead::Eof { bytes }, now);
        }
    }

    /// A deadline passed: the line being read (if any) timed out; later bytes are trailing.
    pub(crate) fn time_out(&mut self, now: Instant) {
        if self.stage != Stage::Trailing {
            let bytes = std::mem::take(&mut self.line);
            self.finish(LineRead::TimedOut { bytes }, now);
        }
    }

    fn finish(&mut self, outcome: LineRead, now: Instant) {
        match self.stage {
            Stage::Hello => {
                let complete = matches!(outcome, LineRead::Line { .. });
                self.hello = Some((outcome, now));
                self.stage = if complete && self.read_response {
                    Stage::Response
                } else {
                    Stage::Trailing
                };
            }
            Stage::Response => {
                self.response = Some((outcome, now));
                self.stage = Stage::Trailing;
            }
            Stage::Trailing => unreachable!("no line is read after the response"),
        }
    }

    /// `(hello, response, trailing)`; lines never decided are [`LineRead::NotRead`].
    pub(crate) fn into_parts(self) -> (LineRead, LineRead, Capture) {
        let take = |line: Option<(LineRead, Instant)>| line.map_or(LineRead::NotRead, |(l, _)| l);
        (
            take(self.hello),
            take(self.response),
            self.trailing.into_capture(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> LineRead {
        LineRead::Line {
            bytes: bytes.to_vec(),
        }
    }

    fn read_all(chunks: &[&[u8]], read_response: bool, line_limit: usize) -> StdoutReader {
        let mut reader = StdoutReader::new(read_response, line_limit, 8);
        let now = Instant::now();
        for chunk in chunks {
            reader.feed(chunk, now);
        }
        reader
    }

    #[test]
    fn capture_stores_a_prefix_and_counts_everything() {
        let mut c = BoundedCapture::new(4);
        c.push(b"ab");
        c.push(b"cdef");
        c.push(b"gh");
        let c = c.into_capture();
        assert_eq!(c.bytes, b"abcd");
        assert_eq!(c.total, 8);
        assert!(c.truncated());
    }

    #[test]
    fn hello_response_and_trailing_in_one_chunk() {
        let (h, r, t) = read_all(&[b"{\"v\":[1]}\nresp\nmore\nbytes"], true, 64).into_parts();
        assert_eq!(h, line(b"{\"v\":[1]}"));
        assert_eq!(r, line(b"resp"));
        assert_eq!(t.bytes, b"more\nbyt");
        assert_eq!(t.total, 10);
    }

    #[test]
    fn lines_split_across_chunks() {
        let (h, r, t) = read_all(&[b"he", b"l", b"lo\nre", b"sp", b"\n"], true, 64).into_parts();
        assert_eq!(h, line(b"hello"));
        assert_eq!(r, line(b"resp"));
        assert_eq!(t.total, 0);
    }

    #[test]
    fn without_response_everything_after_hello_is_trailing() {
        let (h, r, t) = read_all(&[b"hi\nresp\n"], false, 64).into_parts();
        assert_eq!(h, line(b"hi"));
        assert_eq!(r, LineRead::NotRead);
        assert_eq!(t.bytes, b"resp\n");
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_a_line() {
        let (h, ..) = read_all(&[b"abcd", b"\n"], false, 4).into_parts();
        assert_eq!(h, line(b"abcd"));
        let (h, ..) = read_all(&[b"abcd\n"], false, 4).into_parts();
        assert_eq!(h, line(b"abcd"));
    }

    #[test]
    fn a_longer_line_is_too_long_and_the_rest_is_trailing() {
        let (h, r, t) = read_all(&[b"abc", b"de\nxyz"], true, 4).into_parts();
        assert_eq!(
            h,
            LineRead::TooLong {
                prefix: b"abcd".to_vec(),
                limit: 4
            }
        );
        assert_eq!(r, LineRead::NotRead);
        assert_eq!(t.bytes, b"e\nxyz");
        assert_eq!(t.total, 5);
    }

    #[test]
    fn too_long_response() {
        let (h, r, t) = read_all(&[b"hi\n0123456789"], true, 4).into_parts();
        assert_eq!(h, line(b"hi"));
        assert_eq!(
            r,
            LineRead::TooLong {
                prefix: b"0123".to_vec(),
                limit: 4
            }
        );
        assert_eq!(t.total, 6);
    }

    #[test]
    fn eof_and_timeout_keep_partial_bytes() {
        let mut reader = read_all(&[b"hello\npart"], true, 64);
        reader.end(Instant::now());
        let (h, r, _) = reader.into_parts();
        assert_eq!(h, line(b"hello"));
        assert_eq!(
            r,
            LineRead::Eof {
                bytes: b"part".to_vec()
            }
        );

        let mut reader = read_all(&[b"hel"], true, 64);
        reader.time_out(Instant::now());
        reader.feed(b"lo\n", Instant::now());
        let (h, r, t) = reader.into_parts();
        assert_eq!(
            h,
            LineRead::TimedOut {
                bytes: b"hel".to_vec()
            }
        );
        assert_eq!(r, LineRead::NotRead);
        assert_eq!(t.bytes, b"lo\n");
    }

    #[test]
    fn invalid_utf8_is_just_bytes() {
        let (h, ..) = read_all(&[b"\xff\xfe\x00\xc3\n"], false, 64).into_parts();
        assert_eq!(h, line(b"\xff\xfe\x00\xc3"));
    }
}
