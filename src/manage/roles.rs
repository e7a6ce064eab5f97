//! contract.fit roles and users: `GET|POST {prefix}/roles`, `GET|POST {prefix}/users`,
//! `GET {prefix}/users/{id}`.
//!
//! A role names permissions (a policy role's name, or `module:action`); a user holds roles, each
//! possibly limited to an inbox or to a document of an inbox. Users created here are the
//! placeholder users API keys are bound to: the upstream sees every key holder as its user.

use crate::incoming::Incoming;
use http::{Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::body::Body;
use crate::manage::reply::{Refusal, Style, audit, commit, read_as, refuse, respond, tagged};
use crate::manage::{Call, Ctx};
use crate::registry::instant;
use crate::registry::state::{Role, RoleRef, User, etag, new_id};

const CF: Style = Style::ContractFit;

/// A role as shown.
pub fn show_role(r: &Role) -> Value {
    json!({ "id": r.id, "name": r.name, "permissions": r.permissions })
}

/// A user as shown (never its password hash).
pub fn show_user(u: &User) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "active": u.active,
        "roles": u.roles,
        "confirmed_at": u.confirmed_at,
    })
}

/// `GET /roles`.
pub fn list_roles(cx: &Ctx<'_>) -> Response<Body> {
    let roles: Vec<Value> = cx.s.managed.state.roles.iter().map(show_role).collect();
    respond(StatusCode::OK, &Value::Array(roles))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRole {
    name: String,
    #[serde(default)]
    permissions: Vec<String>,
}

/// `POST /roles` `{name, permissions}` → 201.
pub async fn create_role(cx: &Ctx<'_>, call: &Call<'_>, incoming: Incoming) -> Response<Body> {
    let new: NewRole = match read_as(incoming).await {
        Ok(n) => n,
        Err(r) => return r.into_response(CF),
    };
    if new.name.trim().is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "name must not be empty").into_response(CF);
    }
    let role = Role {
        id: new_id(),
        name: new.name,
        permissions: new.permissions,
    };
    let shown = show_role(&role);
    let (id, tag) = (role.id.clone(), etag(&role));
    let done = commit(cx, call, CF, "role.create", move |m| {
        if m.registry.roles.iter().any(|r| r.name == role.name) {
            return Err(refuse(StatusCode::CONFLICT, "a role with this name exists"));
        }
        m.registry.roles.push(role);
        Ok(())
    })
    .await;
    match done {
        Ok(()) => {
            audit(cx, call, "role.create", &id, "created");
            tagged(StatusCode::CREATED, &shown, &tag)
        }
        Err(r) => r,
    }
}

/// `GET /users`.
pub fn list_users(cx: &Ctx<'_>) -> Response<Body> {
    let users: Vec<Value> = cx.s.managed.state.users.iter().map(show_user).collect();
    respond(StatusCode::OK, &Value::Array(users))
}

/// `GET /users/{user_id}`.
pub fn get_user(cx: &Ctx<'_>, call: &Call<'_>) -> Response<Body> {
    let ix = &cx.s.managed;
    match ix.user_position(call.param("user_id")) {
        Some(i) => {
            let u = &ix.state.users[i];
            tagged(StatusCode::OK, &show_user(u), &etag(u))
        }
        None => refuse(StatusCode::NOT_FOUND, "User does not exist").into_response(CF),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    #[serde(default = "yes")]
    active: bool,
    password: String,
    #[serde(default)]
    roles: Vec<RoleRef>,
}

fn yes() -> bool {
    true
}

/// Check role entries against the roles that exist: each role exists (406 "Role does not
/// exist"), and an entry limited to a document names its inbox (400).
pub fn check_refs(roles: &[Role], refs: &[RoleRef]) -> Result<(), Refusal> {
    for (n, r) in refs.iter().enumerate() {
        if !roles.iter().any(|x| x.id == r.role) {
            return Err(refuse(StatusCode::NOT_ACCEPTABLE, "Role does not exist"));
        }
        if r.document_id.is_some() && r.inbox.is_none() {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                format!(
                    "roles[{n}]: the inbox is missing: an entry limited to a document must also \
                     name the document's inbox"
                ),
            ));
        }
    }
    Ok(())
}

/// `POST /users` `{username, active, password, roles}` → 201.
pub async fn create_user(cx: &Ctx<'_>, call: &Call<'_>, incoming: Incoming) -> Response<Body> {
    let new: NewUser = match read_as(incoming).await {
        Ok(n) => n,
        Err(r) => return r.into_response(CF),
    };
    if new.username.trim().is_empty() || new.password.is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "username and password must not be empty",
        )
        .into_response(CF);
    }
    let password = new.password;
    let phc = tokio::task::spawn_blocking(move || crate::issuer::login::hash_password(&password))
        .await
        .ok()
        .and_then(Result::ok);
    let Some(password_phc) = phc else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot hash the password",
        )
        .into_response(CF);
    };
    let user = User {
        id: new_id(),
        username: new.username,
        active: new.active,
        password_phc,
        roles: new.roles,
        confirmed_at: instant::format(cx.now),
    };
    let shown = show_user(&user);
    let (id, tag) = (user.id.clone(), etag(&user));
    let done = commit(cx, call, CF, "user.create", move |m| {
        check_refs(&m.registry.roles, &user.roles)?;
        if m.registry.users.iter().any(|u| u.username == user.username) {
            return Err(refuse(
                StatusCode::CONFLICT,
                "a user with this username exists",
            ));
        }
        m.registry.users.push(user);
        Ok(())
    })
    .await;
    match done {
        Ok(()) => {
            audit(cx, call, "user.create", &id, "created");
            tagged(StatusCode::CREATED, &shown, &tag)
        }
        Err(r) => r,
    }
}
