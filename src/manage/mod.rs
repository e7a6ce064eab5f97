//! Management endpoints: contract.fit's scoped API keys (`/admin/auth`, `/admin/roles`,
//! `/admin/users`, `/admin/auth/api-key`) and Trivore onePortal's authorisation records
//! (`/api/rest/v1/authorisation`), answered by the gateway itself.
//!
//! Each endpoint is a built-in route (`builtin::CONTRACTFIT`, `builtin::TRIVORE`): the pipeline
//! has matched it, validated the caller's credential and decided on the endpoint's (module,
//! action) with the same engine as proxied traffic, and hands `serve` the `Permit`. What the
//! endpoints write goes through `managed::Store` (durable before acknowledged, compiled before
//! written) into the registry; every write is one audit line.

mod keys;
mod login;
mod records;
mod reply;
mod roles;
mod subject;

use std::net::IpAddr;
use std::sync::Arc;

use crate::incoming::Incoming;
use http::Response;

use crate::authz::Permit;
use crate::body::Body;
use crate::builtin::Manage;
use crate::identity::Principal;
use crate::issuer::throttle::Throttle;
use crate::managed::Store;
use crate::policy::Snapshot;

/// Everything an endpoint needs besides the request.
pub struct Ctx<'a> {
    /// The current snapshot.
    pub s: &'a Snapshot,
    /// Where writes go (`None`: the policy is a single file, so writes answer 503).
    pub store: Option<&'a Arc<Store>>,
    /// The failed-login throttle shared with the SeaTable login.
    pub throttle: &'a Throttle,
    /// This request's id, for log lines.
    pub request_id: &'a str,
    /// Unix seconds now.
    pub now: i64,
    /// The client's address (after trusted-proxy resolution).
    pub client: IpAddr,
}

/// A permitted call: who calls, and the path parameters.
pub struct Call<'a> {
    /// The caller (`None` only on the public login endpoint).
    pub who: Option<&'a Principal<'a>>,
    params: &'a [(&'a str, &'a str)],
}

impl<'a> Call<'a> {
    /// The path parameter `name`.
    pub fn param(&self, name: &str) -> &'a str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v)
    }

    /// How the audit log names the caller.
    pub fn caller(&self) -> String {
        match self.who {
            Some(p) => format!("{}:{}", crate::vouch::kind_name(p.kind()), p.id()),
            None => "-".into(),
        }
    }
}

/// Answer a permitted call of management endpoint `m`.
pub async fn serve(
    cx: Ctx<'_>,
    m: Manage,
    permit: &Permit<'_>,
    parts: http::request::Parts,
    incoming: Incoming,
) -> Response<Body> {
    let call = Call {
        who: permit.principal(),
        params: permit.route().resources(),
    };
    use Manage::*;
    match m {
        Login => login::login(&cx, &parts, incoming).await,
        ListRoles => roles::list_roles(&cx),
        CreateRole => roles::create_role(&cx, &call, incoming).await,
        ListUsers => roles::list_users(&cx),
        CreateUser => roles::create_user(&cx, &call, incoming).await,
        GetUser => roles::get_user(&cx, &call),
        ListKeys => keys::list(&cx, None),
        ListInboxKeys => keys::list(&cx, Some(call.param("inbox"))),
        CreateKey => keys::create(&cx, &call, None, incoming).await,
        CreateInboxKey => keys::create(&cx, &call, Some(call.param("inbox")), incoming).await,
        GetKey => keys::get(&cx, &call),
        UpdateKey => keys::update(&cx, &call, &parts, incoming).await,
        DeleteKey => keys::delete(&cx, &call, &parts).await,
        ListRecords => subject::list(&cx, &call, &parts),
        SubjectRecords => subject::of_subject(&cx, &call, &parts, incoming).await,
        CreateRecord => records::create(&cx, &call, incoming).await,
        GetRecord => records::get(&cx, &call),
        UpdateRecord => records::update(&cx, &call, &parts, incoming).await,
        DeleteRecord => records::delete(&cx, &call, &parts).await,
        RevokeRecord => records::revoke(&cx, &call, &parts, incoming).await,
    }
}
