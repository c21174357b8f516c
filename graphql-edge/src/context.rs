//! What a resolver needs to call core-svc on behalf of the client: the channel and the
//! [`CallContext`] built from the HTTP request (bearer credential, request id, client address).

use async_graphql::Context;
use edge_kit::CallContext;
use proto::v1::{
    auth_service_client::AuthServiceClient, config_service_client::ConfigServiceClient,
    event_service_client::EventServiceClient, member_service_client::MemberServiceClient,
    project_service_client::ProjectServiceClient, setting_service_client::SettingServiceClient,
    task_service_client::TaskServiceClient, user_service_client::UserServiceClient,
    webhook_service_client::WebhookServiceClient,
};
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

    pub fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel.clone())
    }
    pub fn users(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel.clone())
    }
    pub fn projects(&self) -> ProjectServiceClient<Channel> {
        ProjectServiceClient::new(self.channel.clone())
    }
    pub fn members(&self) -> MemberServiceClient<Channel> {
        MemberServiceClient::new(self.channel.clone())
    }
    pub fn configs(&self) -> ConfigServiceClient<Channel> {
        ConfigServiceClient::new(self.channel.clone())
    }
    pub fn settings(&self) -> SettingServiceClient<Channel> {
        SettingServiceClient::new(self.channel.clone())
    }
    pub fn events(&self) -> EventServiceClient<Channel> {
        EventServiceClient::new(self.channel.clone())
    }
    pub fn tasks(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.channel.clone())
    }
    pub fn webhooks(&self) -> WebhookServiceClient<Channel> {
        WebhookServiceClient::new(self.channel.clone())
    }
}

/// The request's [`Core`]; the HTTP handler always puts one in.
pub fn core<'a>(ctx: &Context<'a>) -> &'a Core {
    ctx.data_unchecked::<Core>()
}
