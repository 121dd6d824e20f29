//! In-crate tests: the error tables, which must reach every variant of
//! [`DecodeError`](crate::DecodeError) and [`EncodeError`](crate::EncodeError).
//! They live inside the crate so that an exhaustive `match` over the
//! `#[non_exhaustive]` enums can tell when a new variant has no test.

mod decode_errors;
mod encode_errors;
mod v31_leniency;
