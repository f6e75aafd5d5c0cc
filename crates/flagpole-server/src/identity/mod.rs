//! Who is asking: the kinds of token, the roles, the tokens and users this process holds
//! in memory ([`Directory`], reloaded when the store's auth version moves, published
//! through [`Directories`]), the [`Principal`] a request authenticates as, how secrets
//! are kept ([`secret`]), how tokens and users are made ([`issue`]) and the first ones ([`first_start`]), and the failed-login
//! limits ([`Throttle`]). Nothing here knows of HTTP or of the server's state.

mod directories;
mod directory;
pub mod first_start;
pub mod issue;
mod principal;
pub mod secret;
mod throttle;

pub use directories::Directories;
pub use directory::{Directory, Kind, Refusal, Role, Token, User};
pub use principal::{Origin, Principal, Who};
pub use throttle::Throttle;
