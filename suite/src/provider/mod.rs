//! The credential-provider side of the model: how one provider process is driven
//! ([`Exchange`]) and what was observed ([`Transcript`]). The process transport in `runners`
//! turns an `Exchange` into a `Transcript`; the judge turns a `Transcript` into a verdict.
//! Neither half knows about the other's job.

mod exchange;

pub use exchange::{
    Capture, CloseStdin, Exchange, ExitObservation, LEFTOVER_DETAIL_LIMIT, LeftoverPlace,
    LeftoverProcess, LineRead, Phase, Timeouts, Transcript,
};
