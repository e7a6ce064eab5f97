//! The shadow policy: a candidate policy decided beside the live one for every request, so an
//! operator can watch what a change would do before promoting it. The response never depends on
//! it: `compare` runs after the live decision, only counts and logs.
//!
//! The shadow is a second `Policy`, loaded and hot-reloaded like the live one (its own
//! `Reloader`, started by `run`). A disagreement — one side allows and the other refuses, or
//! both refuse for different reasons — is counted in the metrics by route and by the pair of
//! outcomes, and logged with both. Only the deciding steps run (`decision::authorize`): rate
//! limits, bodies and upstreams stay the live policy's business.

use http::StatusCode;

use crate::authz::Permit;
use crate::decision::{self, Head, Presenting, Trace};
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::reject::Rejection;
use crate::route::Route;

/// The outcome label of a decision: `allow`, or the rejection's reason code.
fn outcome(r: &Result<Permit<'_>, Rejection>, unmapped: StatusCode) -> &'static str {
    match r {
        Ok(_) => "allow",
        Err(r) => r.mapping(unmapped).code,
    }
}

/// Decide `head` under the shadow policy too, and count and log a disagreement with `live`.
#[expect(
    clippy::too_many_arguments,
    reason = "the live decision's context, passed as is"
)]
pub fn compare(
    shadow: &Policy,
    metrics: &Metrics,
    head: &Head<'_, '_>,
    now: i64,
    live: &Result<Permit<'_>, Rejection>,
    live_route: Option<&Route>,
    unmapped: StatusCode,
    request_id: &str,
) {
    let Some(s) = shadow.current() else { return };
    let mut trace = Trace::default();
    let candidate = decision::authorize(&s, head, Presenting::Request, now, &mut trace);
    let (was, would) = (
        outcome(live, unmapped),
        outcome(&candidate, s.unmapped_status),
    );
    metrics.shadow_decided();
    if was == would {
        return;
    }
    let route = live_route.or(trace.route).map_or("", |r| r.id.as_str());
    metrics.shadow_disagreement(route, was, would);
    tracing::info!(
        request_id,
        route,
        live = was,
        shadow = would,
        shadow_generation = s.generation,
        "shadow policy disagrees"
    );
}
