//! HTTP/1.1: the request goes out whole; the final status line decides,
//! against the accepted statuses.

#[cfg(any(test, feature = "reference"))]
pub mod reference;
pub mod request;
pub mod status_line;
pub mod status_list;

use crate::policy::target::HttpTarget;
use crate::proto::{Settings, Step};
use crate::report::Reason;
use status_line::StatusLine;
use status_list::StatusList;

/// One HTTP target's check.
pub struct HttpCheck<'a> {
    request: request::Request<'a>,
    statuses: StatusList,
    status_line: StatusLine,
    /// Over TLS (`https://`).
    pub tls: bool,
    /// The run's deadline, for the TLS build's timeout reasons.
    pub timeout_ms: u64,
}

impl<'a> HttpCheck<'a> {
    /// The check of `target` with the run's settings.
    pub fn new(target: &HttpTarget<'a>, settings: &Settings<'a>) -> Self {
        HttpCheck {
            request: request::Request {
                method: settings.method,
                path: target.path,
                host_port: target.host_port,
                headers: settings.headers,
            },
            statuses: settings.statuses,
            status_line: StatusLine::new(),
            tls: target.tls,
            timeout_ms: settings.timeout_ms,
        }
    }

    /// Writes the request into `out`: its length, or `None` if it does not fit.
    pub fn request(&self, out: &mut [u8]) -> Option<usize> {
        request::write(out, &self.request)
    }

    /// The `-H` headers.
    pub fn headers(&self) -> &'a [&'a [u8]] {
        self.request.headers
    }

    /// Takes response bytes; the final status line decides.
    pub fn feed(&mut self, input: &[u8]) -> Step<'static> {
        match self.status_line.feed(input) {
            Ok(None) => Step::More,
            Ok(Some(code)) => self.verdict(code),
            Err(_) => Step::Fail(Reason::MalformedStatusLine),
        }
    }

    /// `HTTP NNN`, passing when the status is accepted.
    pub fn verdict(&self, code: u16) -> Step<'static> {
        if self.statuses.contains(code) {
            Step::Pass(Reason::HttpStatus(code))
        } else {
            Step::Fail(Reason::HttpStatus(code))
        }
    }
}
