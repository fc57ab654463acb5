//! The conformance suite (filled by a later issue).
