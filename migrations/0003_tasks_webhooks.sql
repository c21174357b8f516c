-- Background tasks (dispatched through Redis, recorded here), webhooks and their deliveries.

CREATE TABLE tasks (
    id            uuid PRIMARY KEY,
    kind          text NOT NULL,
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    project_id    uuid REFERENCES projects (id) ON DELETE SET NULL,
    -- What the handler needs (e.g. the delivery id); never shown to clients.
    payload       jsonb NOT NULL DEFAULT '{}',
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL CHECK (max_attempts >= 1),
    run_at        timestamptz NOT NULL DEFAULT now(),
    progress      integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    result        jsonb,
    last_error    text,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    -- The lease of the running attempt: the worker that holds it and until when. A lease that
    -- runs out (the worker died) is reclaimed by the sweeper and the task runs again.
    locked_by     text,
    locked_until  timestamptz,
    -- When the task was last pushed to Redis; the sweeper pushes again what Redis lost.
    dispatched_at timestamptz,
    version       bigint NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- The sweeper's and workers' scans: what is due, what has a lapsed lease.
CREATE INDEX tasks_due_idx ON tasks (run_at) WHERE status IN ('queued', 'failed');
CREATE INDEX tasks_running_idx ON tasks (locked_until) WHERE status = 'running';
CREATE INDEX tasks_created_by_idx ON tasks (created_by, created_at);
CREATE INDEX tasks_project_id_idx ON tasks (project_id, created_at);
CREATE INDEX tasks_kind_idx ON tasks (kind, status);

-- Every attempt of every task, for the record ("attempts recorded").
CREATE TABLE task_attempts (
    id          bigserial PRIMARY KEY,
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt     integer NOT NULL,
    worker      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text CHECK (outcome IN ('succeeded', 'failed', 'lost', 'handed_back')),
    error       text
);
CREATE INDEX task_attempts_task_id_idx ON task_attempts (task_id);

-- Documents produced by tasks (project exports), downloadable while the task exists.
CREATE TABLE task_outputs (
    task_id    uuid PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    document   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url         text NOT NULL,
    secret      text NOT NULL,
    event_types text[] NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    description text NOT NULL DEFAULT '',
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_project_id_idx ON webhooks (project_id);

CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    project_id      uuid NOT NULL,
    event_id        uuid NOT NULL,
    event_seq       bigint NOT NULL,
    event_type      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    response_status integer NOT NULL DEFAULT 0,
    response_body   text NOT NULL DEFAULT '',
    last_error      text NOT NULL DEFAULT '',
    duration_ms     bigint NOT NULL DEFAULT 0,
    task_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    -- One delivery per event per webhook, however often the dispatcher runs.
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at);

-- Durable cursors of log followers run by the leader (the webhook dispatcher): the last seq
-- they have fully handled.
CREATE TABLE log_cursors (
    name text PRIMARY KEY,
    seq  bigint NOT NULL
);
