//! Management APIs: contract.fit roles, users and scoped API keys (`contractfit`, `api_keys`),
//! Trivore authorisation records (`trivore`) and the access they grant (`records_grant`), who
//! may call them (`callers`), and what the store keeps (`store`).

mod api_keys;
mod callers;
mod contractfit;
mod records_grant;
mod store;
mod trivore;
