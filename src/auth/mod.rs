//! Who is calling: password hashing, access and refresh tokens, the role ladder and the
//! extractors that turn a bearer token into a `Caller`.

pub mod api_token;
pub mod extract;
pub mod oidc;
pub mod password;
pub mod role;
pub mod scope;
pub mod token;

pub use extract::{Caller, MaybeCaller};
pub use role::Role;
pub use scope::{Scope, Scopes};
