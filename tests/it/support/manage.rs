//! The management setup: a policy directory with admin users (contract.fit's
//! `edit_backend_settings` and `view_api_keys` as policy roles), three management clients in
//! two namespaces, the `file_for_permit` authorisation type, app routes capturing `inbox`,
//! `document` and `permit`, and a recording upstream; plus the calls the tests make.

use http::Method;
use serde_json::{Value, json};

use super::client::{self, Resp, full, request, send};
use super::seatable::keys;
use super::seatable::policy::{hash, sha256_hex};
use super::tmp::TempDir;
use super::{Harness, Options, Upstream, policy as writer};

/// The admin user (setup permissions).
pub const ADMIN: &str = "timothe@contract.fit";
/// Its password.
pub const ADMIN_PW: &str = "admin-pw-6d1b9e03c2";
/// A user who may only view keys.
pub const VIEWER: &str = "viewer@contract.fit";
/// Its password.
pub const VIEWER_PW: &str = "viewer-pw-0f8a7c55";
/// A user with no permission of its own on permits (records may grant it).
pub const FILER: &str = "filer@example.org";
/// Its password.
pub const FILER_PW: &str = "filer-pw-3e2d1c0b";
/// A user whose key rights are limited to inbox `INBOX`.
pub const INBOX_ADMIN: &str = "inbox-admin@contract.fit";
/// Its password.
pub const INBOX_ADMIN_PW: &str = "inbox-admin-pw-77aa";

/// Management client with every authorisation right, namespace `root`.
pub const CLIENT: &str = "1248769513590337";
/// Its secret.
pub const CLIENT_SECRET: &str = "client-secret-9b8a7f6e5d";
/// A client of namespace `other` only.
pub const OTHER_CLIENT: &str = "3430986450301641";
/// Its secret.
pub const OTHER_SECRET: &str = "other-secret-1a2b3c4d5e";
/// A client that may only view.
pub const VIEW_CLIENT: &str = "0880905547415718";
/// Its secret.
pub const VIEW_SECRET: &str = "view-secret-a1b2c3d4e5";

/// The invoice inbox.
pub const INBOX: &str = "60ddb937b260064252bd0001";
/// Another inbox.
pub const OTHER_INBOX: &str = "60ddb937b260064252bd0002";
/// A document of `INBOX`.
pub const DOC: &str = "60ddb937b260064252bd5a98";

/// The management test policy; `upstream` is the recording upstream's URL.
pub fn standard(upstream: &str) -> Value {
    let client = |secret: &str, perms: Value, ns: Value| json!({ "sha256": sha256_hex(secret), "permissions": perms, "namespaces": ns });
    json!({
        "mode": "limited-access",
        "upstreams": { "app": { "url": upstream } },
        "credential_query_params": ["api_key"],
        "roles": {
            "edit_backend_settings": {
                "role": ["view", "create"], "user": ["view", "create"],
                "api_key": ["view", "create", "update", "delete"]
            },
            "view_api_keys": { "api_key": ["view"] },
            "inbox_reader": { "inbox": ["view"], "document": ["view"] },
            "permit_filer": { "permit": ["file"] }
        },
        "routes": [
            { "id": "inboxes", "path": "/admin/inboxes", "methods": ["GET"],
              "module": "inbox", "action": "view", "upstream": "app" },
            { "id": "inbox-docs", "path": "/inboxes/{inbox}/documents", "methods": ["GET"],
              "module": "document", "action": "view",
              "resources": { "inbox": { "path": "inbox" } }, "upstream": "app" },
            { "id": "doc", "path": "/inboxes/{inbox}/documents/{document}", "methods": ["GET"],
              "module": "document", "action": "view",
              "resources": { "inbox": { "path": "inbox" }, "document": { "path": "document" } },
              "upstream": "app" },
            { "id": "permit", "path": "/permits/{permit}", "methods": ["POST"],
              "module": "permit", "action": "file",
              "resources": { "permit": { "path": "permit" } }, "upstream": "app" }
        ],
        "users": {
            ADMIN: { "password": hash(ADMIN_PW),
                     "roles": ["edit_backend_settings", "view_api_keys", "inbox_reader"] },
            VIEWER: { "password": hash(VIEWER_PW), "roles": ["view_api_keys"] },
            FILER: { "password": hash(FILER_PW) },
            INBOX_ADMIN: { "password": hash(INBOX_ADMIN_PW),
                           "permissions": { "api_key": ["view", "create"] },
                           "scope": { "inbox": [INBOX] } }
        },
        "signing_keys": {
            "acct-1": { "use": "account", "alg": "HS256", "secret": { "env": "PC_ACCT_KEY" } }
        },
        "management": {
            "contractfit": {},
            "trivore": {},
            "clients": {
                CLIENT: client(CLIENT_SECRET, json!({ "authorisation": ["all"] }), json!(["root"])),
                OTHER_CLIENT: client(OTHER_SECRET, json!({ "authorisation": ["all"] }), json!(["other"])),
                VIEW_CLIENT: client(VIEW_SECRET, json!({ "authorisation": ["view"] }), json!(["root", "other"]))
            },
            "authorisation_types": {
                "file_for_permit": { "role": "permit_filer", "resource": "permit" }
            }
        }
    })
}

/// A running management gateway over a policy directory; stops when dropped.
pub struct Mg {
    /// The gateway.
    pub harness: Harness,
    /// The recording upstream (the application).
    pub upstream: Upstream,
    /// Owns the policy directory.
    pub dir: TempDir,
    opts: Options,
}

impl Mg {
    /// Serve the standard policy.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Serve the standard policy after `edit`.
    pub async fn start_with(edit: impl FnOnce(&mut Value)) -> Self {
        let upstream = Upstream::start().await;
        let mut p = standard(&upstream.url());
        edit(&mut p);
        let dir = TempDir::new("mg");
        writer::write(&dir.join("policy/policy.json"), &p);
        let opts = Options {
            env: keys::env()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            ..Options::default()
        };
        let harness = Harness::serve(&dir.join("policy"), opts.clone()).await;
        Self {
            harness,
            upstream,
            dir,
            opts,
        }
    }

    /// Stop and serve the same directory again, as a new process would.
    pub async fn restart(self) -> Self {
        let Mg {
            harness,
            upstream,
            dir,
            opts,
        } = self;
        let clock = harness.clock.clone();
        drop(harness);
        let harness = Harness::serve(
            &dir.join("policy"),
            Options {
                clock: Some(clock),
                ..opts.clone()
            },
        )
        .await;
        Mg {
            harness,
            upstream,
            dir,
            opts,
        }
    }

    /// The managed file as written.
    pub fn managed_file(&self) -> String {
        std::fs::read_to_string(self.dir.join("policy/portcullis-managed.json")).unwrap_or_default()
    }

    /// Send `method path` with `headers` and a JSON `body` (or none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        let mut h: Vec<(&str, &str)> = headers.to_vec();
        let text = body.map(Value::to_string).unwrap_or_default();
        if body.is_some() {
            h.push(("content-type", "application/json"));
        }
        send(
            &client::h1(),
            request(method, &self.harness.url(path), &h, full(text)),
        )
        .await
    }

    /// `POST /admin/auth` for `user` with `password`: the answer, whatever it is.
    pub async fn try_login(&self, user: &str, password: &str) -> Resp {
        self.call(
            Method::POST,
            "/admin/auth",
            &[],
            Some(&json!({ "username": user, "password": password })),
        )
        .await
    }

    /// `POST /admin/auth` for `user`: the authentication token.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let r = self.try_login(user, password).await;
        r.expect(200);
        r.json()["authentication_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// A call with `Authorization: Bearer <token>`.
    pub async fn as_admin(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Resp {
        let auth = format!("Bearer {token}");
        self.call(method, path, &[("authorization", &auth)], body)
            .await
    }

    /// A Trivore call as client `id` with `secret`, extra headers and a JSON body.
    pub async fn as_client(
        &self,
        (id, secret): (&str, &str),
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Resp {
        use base64::Engine;
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
        );
        let mut h = vec![("authorization", basic.as_str())];
        h.extend_from_slice(headers);
        self.call(method, path, &h, body).await
    }

    /// Create role `name` with `permissions` as the admin; its id.
    pub async fn role(&self, admin: &str, name: &str, permissions: &[&str]) -> String {
        let r = self
            .as_admin(
                admin,
                Method::POST,
                "/admin/roles",
                Some(&json!({ "name": name, "permissions": permissions })),
            )
            .await;
        r.expect(201);
        r.json()["id"].as_str().expect("id").to_owned()
    }
}

/// The full-rights client.
pub fn root() -> (&'static str, &'static str) {
    (CLIENT, CLIENT_SECRET)
}

/// What `Mg::key_setup` made.
pub struct KeySetup {
    /// The admin's token.
    pub admin: String,
    /// The role id.
    pub role: String,
    /// The placeholder user's id.
    pub user: String,
    /// The key's id.
    pub id: String,
    /// The key's token.
    pub token: String,
}

impl Mg {
    /// The seed's setup: a reader role, a placeholder user on `INBOX`, and a key with one entry
    /// on `INBOX` and one on `DOC` of `INBOX`... limited to `roles` when given.
    pub async fn key_setup(&self, roles: Option<Value>) -> KeySetup {
        let admin = self.login(ADMIN, ADMIN_PW).await;
        let role = self.role(&admin, "reader", &["inbox_reader"]).await;
        let r = self
            .as_admin(
                &admin,
                Method::POST,
                "/admin/users",
                Some(&json!({
                    "username": "shared-link", "active": true, "password": "unused-pw-1",
                    "roles": [{ "role": role, "inbox": INBOX }]
                })),
            )
            .await;
        r.expect(201);
        let user = r.json()["id"].as_str().expect("id").to_owned();
        let roles = roles.unwrap_or_else(|| json!([{ "role": role, "inbox": INBOX }]));
        let roles = serde_json::from_str::<Value>(&roles.to_string().replace("$ROLE", &role))
            .expect("roles");
        let r = self
            .as_admin(
                &admin,
                Method::POST,
                "/admin/auth/api-key",
                Some(&json!({ "user": user, "roles": roles })),
            )
            .await;
        r.expect(201);
        let k = r.json();
        KeySetup {
            admin,
            role,
            user,
            id: k["id"].as_str().expect("id").to_owned(),
            token: k["token"].as_str().expect("token").to_owned(),
        }
    }
}
