//! Real-parts test support for vmodem (filled in by the integration-test work).
