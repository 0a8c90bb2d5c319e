-- Migration 4: one row per session, kept by the roll-ups (sessions.rs), which the report's
-- sessions summary reads instead of grouping every call by its session id.

CREATE TABLE session_rollup (
    project      VARCHAR   NOT NULL,
    session_id   VARCHAR   NOT NULL,
    turns        BIGINT    NOT NULL,   -- calls of the session
    first_us     BIGINT    NOT NULL,   -- earliest and latest start_time, µs since 1970
    last_us      BIGINT    NOT NULL,
    duration_s   DOUBLE    NOT NULL,   -- first start to last end (coalesce(end_time, start_time))
    duration_bin USMALLINT NOT NULL    -- its fine value bin (bins.rs); one row per (project, session_id)
);
