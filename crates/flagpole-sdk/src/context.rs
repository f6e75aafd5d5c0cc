//! Building an evaluation [`Context`] conveniently.

use flagpole_core::Context;

/// Builds a [`Context`]: the user id (OpenFeature's targeting key), the other known
/// fields, and free-form properties that rules can test.
///
/// ```
/// use flagpole_sdk::ContextBuilder;
///
/// let ctx = ContextBuilder::user("user-42")
///     .property("plan", "enterprise")
///     .property("email", "ada@example.com")
///     .remote_address("10.1.2.3")
///     .build();
/// assert_eq!(ctx.user_id.as_deref(), Some("user-42"));
/// assert_eq!(ctx.property("plan"), Some("enterprise"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ContextBuilder {
    ctx: Context,
}

impl ContextBuilder {
    /// An empty context.
    pub fn new() -> ContextBuilder {
        ContextBuilder::default()
    }

    /// A context for one user.
    pub fn user(user_id: impl Into<String>) -> ContextBuilder {
        ContextBuilder::new().user_id(user_id)
    }

    /// Sets the user id (what rollouts place by default).
    pub fn user_id(mut self, user_id: impl Into<String>) -> ContextBuilder {
        self.ctx.user_id = Some(user_id.into());
        self
    }

    /// Sets the session id.
    pub fn session_id(mut self, session_id: impl Into<String>) -> ContextBuilder {
        self.ctx.session_id = Some(session_id.into());
        self
    }

    /// Sets the remote address (for `IN_CIDR` conditions).
    pub fn remote_address(mut self, address: impl Into<String>) -> ContextBuilder {
        self.ctx.remote_address = Some(address.into());
        self
    }

    /// Sets the application name.
    pub fn app_name(mut self, app_name: impl Into<String>) -> ContextBuilder {
        self.ctx.app_name = Some(app_name.into());
        self
    }

    /// Sets the environment attribute rules can test (not the environment evaluated,
    /// which is the client's).
    pub fn environment(mut self, environment: impl Into<String>) -> ContextBuilder {
        self.ctx.environment = Some(environment.into());
        self
    }

    /// Sets the time date conditions compare with (RFC 3339); the clock when absent.
    pub fn current_time(mut self, time: impl Into<String>) -> ContextBuilder {
        self.ctx.current_time = Some(time.into());
        self
    }

    /// Sets a free-form property, replacing an earlier value of the same name.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<String>) -> ContextBuilder {
        self.ctx.set_property(name, value);
        self
    }

    /// The context.
    pub fn build(self) -> Context {
        self.ctx
    }
}
