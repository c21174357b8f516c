//! What a resolver needs to call core-svc on behalf of the client: the channel and the
//! [`CallContext`] built from the HTTP request (bearer credential, request id, client address).

use async_graphql::Context;
use edge_kit::CallContext;
use tonic::transport::Channel;

/// Per-request handle to core-svc. Cheap to clone (the channel is shared).
#[derive(Clone)]
pub struct Core {
    channel: Channel,
    pub call: CallContext,
}

impl Core {
    pub fn new(channel: Channel, call: CallContext) -> Self {
        Self { channel, call }
    }

    /// Wraps a message with the caller's metadata.
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        self.call.request(message)
    }
}

/// A client of each platform.v1 service (`core.users()`, …).
impl proto::Services for Core {
    fn channel(&self) -> Channel {
        self.channel.clone()
    }
}

/// The request's [`Core`]; the HTTP handler always puts one in.
pub fn core<'a>(ctx: &Context<'a>) -> &'a Core {
    ctx.data_unchecked::<Core>()
}
