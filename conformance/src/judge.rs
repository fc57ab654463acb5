//! Judging one executed case: every property of the catalogue checks it.

use crate::checks::{Context, Exchange};
use crate::model::{Call, Case};
use crate::properties;
use crate::verdict::Verdicts;

/// The verdicts of every property that has something to say about the case, in catalogue order.
pub fn evaluate(ctx: &Context<'_>, case: &Case, calls: &[Call]) -> Verdicts {
    let exchange = Exchange::new(ctx, case, calls);
    let mut verdicts = Verdicts::default();
    for property in properties::ALL {
        if let Some(verdict) = (property.check)(&exchange) {
            verdicts.record(property.id, verdict);
        }
    }
    verdicts
}
