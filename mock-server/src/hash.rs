//! FNV-1a, the one 64-bit hash the mock keys things by: credential values in the journal and
//! the rate limiter, the seed of an account's tenants, a spec file's text under `--watch`.

/// The FNV-1a hash of `s`: fast, and stable across runs and platforms.
pub(crate) fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
