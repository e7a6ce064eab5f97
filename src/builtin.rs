//! Built-in endpoints: route targets the gateway answers itself instead of an upstream.
//!
//! A built-in endpoint is a route like any other: `policy::compile` puts it in the same route
//! table as the policy's routes (a policy route that conflicts with one is a load error naming
//! both), and a request for it goes through the same steps — canonicalize, resolve, extract,
//! validate, decide — and the same rejection mapping. Only the last step differs: the permitted
//! request is handed to the endpoint (`issuer` for SeaTable's token endpoints) instead of
//! `forward::send`.
//!
//! This module is pure data: which endpoints exist, their path templates, methods, permission
//! and accepted credentials. It imports neither the pipeline nor the endpoints.

use crate::kinds::{CredentialKind, ErrorStyle};

/// Every built-in endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api2/auth-token/`: account token from username and password.
    Login,
    /// `GET .../temp-api-token/`: temporary token from an account token.
    TempToken,
    /// `GET /api/v2.1/dtable/app-access-token/`: base token from an API or temporary token.
    AppAccessToken,
    /// `GET .../access-token/`: base token from an account token.
    AccessToken,
    /// `GET /api/v2.1/external-link-tokens/{token}/access-token/`: read-only base token.
    LinkAccessToken,
    /// `GET .../api-tokens/`: list API tokens.
    ListApiTokens,
    /// `POST .../api-tokens/`: create an API token.
    CreateApiToken,
    /// `PUT .../api-tokens/{app}/`: update one.
    UpdateApiToken,
    /// `DELETE .../api-tokens/{app}/`: delete one.
    DeleteApiToken,
    /// contract.fit and Trivore management endpoints.
    Manage(Manage),
}

/// The management endpoints (`manage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manage {
    /// `POST /admin/auth`: a token for an admin user's username and password.
    Login,
    /// `GET /admin/roles`.
    ListRoles,
    /// `POST /admin/roles`.
    CreateRole,
    /// `GET /admin/users`.
    ListUsers,
    /// `POST /admin/users`.
    CreateUser,
    /// `GET /admin/users/{user_id}`.
    GetUser,
    /// `GET /admin/auth/api-key`.
    ListKeys,
    /// `POST /admin/auth/api-key`.
    CreateKey,
    /// `GET /admin/auth/api-key/{key}`.
    GetKey,
    /// `PATCH /admin/auth/api-key/{key}`.
    UpdateKey,
    /// `DELETE /admin/auth/api-key/{key}`.
    DeleteKey,
    /// `GET /admin/auth/api-key/inbox/{inbox}`.
    ListInboxKeys,
    /// `POST /admin/auth/api-key/inbox/{inbox}`.
    CreateInboxKey,
    /// `GET /api/rest/v1/authorisation`.
    ListRecords,
    /// `POST /api/rest/v1/authorisation`.
    CreateRecord,
    /// `GET /api/rest/v1/authorisation/{id}`.
    GetRecord,
    /// `PUT /api/rest/v1/authorisation/{id}`.
    UpdateRecord,
    /// `DELETE /api/rest/v1/authorisation/{id}`.
    DeleteRecord,
    /// `POST /api/rest/v1/authorisation/{id}/revoke`.
    RevokeRecord,
    /// `GET` or `POST /api/rest/v1/user/{user}/authorisation/subject`.
    SubjectRecords,
}

impl Manage {
    /// Whether a permitted call writes the registry.
    pub fn writes(self) -> bool {
        use Manage::*;
        match self {
            CreateRole | CreateUser | CreateKey | CreateInboxKey | UpdateKey | DeleteKey
            | CreateRecord | UpdateRecord | DeleteRecord | RevokeRecord => true,
            Login | ListRoles | ListUsers | GetUser | ListKeys | GetKey | ListInboxKeys
            | ListRecords | GetRecord | SubjectRecords => false,
        }
    }
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the endpoint checks what the request carries itself (a password, a link token in
    /// the path).
    Public,
    /// Any valid credential of the accepted kinds: the endpoint narrows further by resource (the
    /// base a user may use, the base an API token belongs to).
    AnyPrincipal,
    /// A credential whose grants hold the endpoint's (module, action), whatever the API mode.
    Grants,
}

/// The route of one built-in endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Route id, for logs, `explain` and conflict errors.
    pub id: &'static str,
    /// Path template below the endpoint family's prefix.
    pub template: &'static str,
    /// The one method it answers (a standard method, upper case).
    pub method: &'static str,
    /// Permission module.
    pub module: &'static str,
    /// Permission action.
    pub action: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Credential kinds it accepts (empty on public endpoints).
    pub accept: &'static [CredentialKind],
    /// How its rejections look, as the clients of the system it imitates expect.
    pub error_style: ErrorStyle,
    /// The path holds a secret: logs show the template instead.
    pub secret_in_path: bool,
}

/// A path below a SeaTable workspace base.
macro_rules! ws {
    ($rest:literal) => {
        concat!("/api/v2.1/workspace/{ws}/dtable/{name}", $rest)
    };
}

const ACCOUNT: &[CredentialKind] = &[CredentialKind::Account];
const EXCHANGE: &[CredentialKind] = &[CredentialKind::ApiToken, CredentialKind::Temporary];

/// One SeaTable endpoint: module `seatable`, dtable-web's error style unless said otherwise.
const fn seatable_spec(
    endpoint: Endpoint,
    id: &'static str,
    template: &'static str,
    method: &'static str,
    action: &'static str,
    access: Access,
    accept: &'static [CredentialKind],
) -> Spec {
    Spec {
        endpoint,
        id,
        template,
        method,
        module: "seatable",
        action,
        access,
        accept,
        error_style: ErrorStyle::SeatableWeb,
        secret_in_path: false,
    }
}

/// SeaTable's token endpoints, below the policy's `seatable.prefix`.
pub static SEATABLE: [Spec; 9] = {
    use Access::{AnyPrincipal, Public};
    use Endpoint::*;
    let s = seatable_spec;
    [
        s(
            Login,
            "builtin:seatable:auth-token",
            "/api2/auth-token/",
            "POST",
            "login",
            Public,
            &[],
        ),
        s(
            TempToken,
            "builtin:seatable:temp-api-token",
            ws!("/temp-api-token/"),
            "GET",
            "temp_token",
            AnyPrincipal,
            ACCOUNT,
        ),
        Spec {
            // SeaTable's API-token clients expect `403 {"error_msg": ...}`.
            error_style: ErrorStyle::Seatable,
            ..s(
                AppAccessToken,
                "builtin:seatable:app-access-token",
                "/api/v2.1/dtable/app-access-token/",
                "GET",
                "app_access_token",
                AnyPrincipal,
                EXCHANGE,
            )
        },
        s(
            AccessToken,
            "builtin:seatable:access-token",
            ws!("/access-token/"),
            "GET",
            "access_token",
            AnyPrincipal,
            ACCOUNT,
        ),
        Spec {
            secret_in_path: true,
            ..s(
                LinkAccessToken,
                "builtin:seatable:external-link-access-token",
                "/api/v2.1/external-link-tokens/{token}/access-token/",
                "GET",
                "link_access_token",
                Public,
                &[],
            )
        },
        s(
            ListApiTokens,
            "builtin:seatable:api-tokens:list",
            ws!("/api-tokens/"),
            "GET",
            "api_token_view",
            AnyPrincipal,
            ACCOUNT,
        ),
        s(
            CreateApiToken,
            "builtin:seatable:api-tokens:create",
            ws!("/api-tokens/"),
            "POST",
            "api_token_create",
            AnyPrincipal,
            ACCOUNT,
        ),
        s(
            UpdateApiToken,
            "builtin:seatable:api-tokens:update",
            ws!("/api-tokens/{app}/"),
            "PUT",
            "api_token_update",
            AnyPrincipal,
            ACCOUNT,
        ),
        s(
            DeleteApiToken,
            "builtin:seatable:api-tokens:delete",
            ws!("/api-tokens/{app}/"),
            "DELETE",
            "api_token_delete",
            AnyPrincipal,
            ACCOUNT,
        ),
    ]
};

const MANAGERS: &[CredentialKind] = &[
    CredentialKind::Account,
    CredentialKind::ApiKey,
    CredentialKind::ManagementClient,
];
const CLIENTS: &[CredentialKind] = &[CredentialKind::ManagementClient];

/// One management endpoint: its grants decide, in the standard error style.
const fn manage_spec(
    m: Manage,
    id: &'static str,
    template: &'static str,
    method: &'static str,
    module: &'static str,
    action: &'static str,
) -> Spec {
    Spec {
        endpoint: Endpoint::Manage(m),
        id,
        template,
        method,
        module,
        action,
        access: Access::Grants,
        accept: MANAGERS,
        error_style: ErrorStyle::Standard,
        secret_in_path: false,
    }
}

/// contract.fit's management endpoints, below `management.contractfit.prefix`.
pub static CONTRACTFIT: [Spec; 13] = {
    use Manage::*;
    let s = manage_spec;
    [
        Spec {
            access: Access::Public,
            accept: &[],
            ..s(
                Login,
                "builtin:contractfit:auth",
                "/auth",
                "POST",
                "management",
                "login",
            )
        },
        s(
            ListRoles,
            "builtin:contractfit:roles:list",
            "/roles",
            "GET",
            "role",
            "view",
        ),
        s(
            CreateRole,
            "builtin:contractfit:roles:create",
            "/roles",
            "POST",
            "role",
            "create",
        ),
        s(
            ListUsers,
            "builtin:contractfit:users:list",
            "/users",
            "GET",
            "user",
            "view",
        ),
        s(
            CreateUser,
            "builtin:contractfit:users:create",
            "/users",
            "POST",
            "user",
            "create",
        ),
        s(
            GetUser,
            "builtin:contractfit:users:get",
            "/users/{user_id}",
            "GET",
            "user",
            "view",
        ),
        s(
            ListKeys,
            "builtin:contractfit:api-key:list",
            "/auth/api-key",
            "GET",
            "api_key",
            "view",
        ),
        s(
            CreateKey,
            "builtin:contractfit:api-key:create",
            "/auth/api-key",
            "POST",
            "api_key",
            "create",
        ),
        Spec {
            secret_in_path: true,
            ..s(
                GetKey,
                "builtin:contractfit:api-key:get",
                "/auth/api-key/{key}",
                "GET",
                "api_key",
                "view",
            )
        },
        Spec {
            secret_in_path: true,
            ..s(
                UpdateKey,
                "builtin:contractfit:api-key:update",
                "/auth/api-key/{key}",
                "PATCH",
                "api_key",
                "update",
            )
        },
        Spec {
            secret_in_path: true,
            ..s(
                DeleteKey,
                "builtin:contractfit:api-key:delete",
                "/auth/api-key/{key}",
                "DELETE",
                "api_key",
                "delete",
            )
        },
        s(
            ListInboxKeys,
            "builtin:contractfit:api-key:inbox:list",
            "/auth/api-key/inbox/{inbox}",
            "GET",
            "api_key",
            "view",
        ),
        s(
            CreateInboxKey,
            "builtin:contractfit:api-key:inbox:create",
            "/auth/api-key/inbox/{inbox}",
            "POST",
            "api_key",
            "create",
        ),
    ]
};

/// One Trivore endpoint: management clients only, onePortal's error style.
const fn trivore_spec(
    m: Manage,
    id: &'static str,
    template: &'static str,
    method: &'static str,
    action: &'static str,
) -> Spec {
    Spec {
        accept: CLIENTS,
        error_style: ErrorStyle::Trivore,
        ..manage_spec(m, id, template, method, "authorisation", action)
    }
}

/// Trivore onePortal's authorisation endpoints, below `management.trivore.prefix`.
pub static TRIVORE: [Spec; 8] = {
    use Manage::*;
    let s = trivore_spec;
    const ONE: &str = "/api/rest/v1/authorisation/{id}";
    const SUBJECT: &str = "/api/rest/v1/user/{user}/authorisation/subject";
    [
        s(
            ListRecords,
            "builtin:trivore:authorisation:list",
            "/api/rest/v1/authorisation",
            "GET",
            "view",
        ),
        s(
            CreateRecord,
            "builtin:trivore:authorisation:create",
            "/api/rest/v1/authorisation",
            "POST",
            "create",
        ),
        s(
            GetRecord,
            "builtin:trivore:authorisation:get",
            ONE,
            "GET",
            "view",
        ),
        s(
            UpdateRecord,
            "builtin:trivore:authorisation:update",
            ONE,
            "PUT",
            "update",
        ),
        s(
            DeleteRecord,
            "builtin:trivore:authorisation:delete",
            ONE,
            "DELETE",
            "delete",
        ),
        s(
            RevokeRecord,
            "builtin:trivore:authorisation:revoke",
            "/api/rest/v1/authorisation/{id}/revoke",
            "POST",
            "revoke",
        ),
        s(
            SubjectRecords,
            "builtin:trivore:subject:list",
            SUBJECT,
            "GET",
            "view",
        ),
        s(
            SubjectRecords,
            "builtin:trivore:subject:filter",
            SUBJECT,
            "POST",
            "view",
        ),
    ]
};
