//! Every `platform.v1` service's client over one channel to core-svc.

use tonic::transport::Channel;

use crate::v1::{
    auth_service_client::AuthServiceClient, config_service_client::ConfigServiceClient,
    event_service_client::EventServiceClient, member_service_client::MemberServiceClient,
    project_service_client::ProjectServiceClient, setting_service_client::SettingServiceClient,
    task_service_client::TaskServiceClient, user_service_client::UserServiceClient,
    webhook_service_client::WebhookServiceClient,
};

/// The clients of the nine `platform.v1` services. Implement [`Services::channel`]; a client of
/// each service comes with it (cheap: a client is the channel, which is shared).
pub trait Services {
    /// The channel to core-svc every client uses.
    fn channel(&self) -> Channel;

    fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel())
    }
    fn users(&self) -> UserServiceClient<Channel> {
        UserServiceClient::new(self.channel())
    }
    fn projects(&self) -> ProjectServiceClient<Channel> {
        ProjectServiceClient::new(self.channel())
    }
    fn members(&self) -> MemberServiceClient<Channel> {
        MemberServiceClient::new(self.channel())
    }
    fn configs(&self) -> ConfigServiceClient<Channel> {
        ConfigServiceClient::new(self.channel())
    }
    fn settings(&self) -> SettingServiceClient<Channel> {
        SettingServiceClient::new(self.channel())
    }
    fn events(&self) -> EventServiceClient<Channel> {
        EventServiceClient::new(self.channel())
    }
    fn tasks(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.channel())
    }
    fn webhooks(&self) -> WebhookServiceClient<Channel> {
        WebhookServiceClient::new(self.channel())
    }
}

impl Services for Channel {
    fn channel(&self) -> Channel {
        self.clone()
    }
}
