-- The history of one resource in the log: the webhook dispatcher reads each webhook's settings
-- as they were when an event happened, and `ListEvents` filters by resource.
CREATE INDEX events_resource_idx ON events (resource_type, resource_id, seq);
