//! OAuth 2 / OpenID Connect clients (API.md §5): registering them, authenticating them, and
//! deciding what each may be granted. The token endpoint and the command line call this.

pub mod authorize;
pub mod clients;

pub use clients::{Client, ClientCredentials, Clients, CreatedClient, GrantType, NewClient};
