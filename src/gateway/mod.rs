//! The gateway: the OpenAI, Anthropic and Azure OpenAI front doors onto the account pool.
//!
//! Where a change belongs: `protocol/` translates request and answer shapes and nothing
//! else; `sse` frames and parses event streams.

pub mod protocol;
pub mod sse;
