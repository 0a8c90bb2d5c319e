-- Migration 4: rollups for the report's sessions summary, top users and top questions,
-- kept by the same roll-ups as migration 3's (rollup.rs, sessions.rs, users.rs, questions.rs).

-- Token sums as doubles, as the grouped queries on the calls sum them: DuckDB reads a
-- HUGEINT column about thirty times slower than a DOUBLE one.
ALTER TABLE call_rollup ALTER input_tokens TYPE DOUBLE;
ALTER TABLE call_rollup ALTER output_tokens TYPE DOUBLE;
ALTER TABLE call_rollup ALTER cached_tokens TYPE DOUBLE;

-- One row per session, which the sessions summary and the users' session counts read
-- instead of grouping every call by its session id.
CREATE TABLE session_rollup (
    project      VARCHAR   NOT NULL,
    session_id   VARCHAR   NOT NULL,
    turns        BIGINT    NOT NULL,   -- calls of the session
    first_us     BIGINT    NOT NULL,   -- earliest and latest start_time, µs since 1970
    last_us      BIGINT    NOT NULL,
    duration_s   DOUBLE    NOT NULL,   -- first start to last end (coalesce(end_time, start_time))
    duration_bin USMALLINT NOT NULL,   -- its fine value bin (bins.rs)
    user_id      VARCHAR,              -- the one user its calls name; NULL for none or several
    mixed_users  BOOLEAN   NOT NULL    -- its calls name more than one user; one row per (project, session_id)
);

-- Per quarter hour (UTC), project and user: call_rollup's counts and sums, over the calls
-- that name a user (without_user is therefore 0).
CREATE TABLE user_rollup (
    project        VARCHAR NOT NULL,
    bucket_us      BIGINT  NOT NULL,
    user_id        VARCHAR NOT NULL,
    requests       BIGINT  NOT NULL,
    errors         BIGINT  NOT NULL,
    cancelled      BIGINT  NOT NULL,
    empty_output   BIGINT  NOT NULL,
    success        BIGINT  NOT NULL,
    without_user   BIGINT  NOT NULL,
    json_mode      BIGINT  NOT NULL,
    tokens_counted BIGINT  NOT NULL,
    latency_n      BIGINT  NOT NULL,
    latency_sum    DOUBLE  NOT NULL,
    latency_max    DOUBLE,
    ttft_n         BIGINT  NOT NULL,
    ttft_sum       DOUBLE  NOT NULL,
    tps_n          BIGINT  NOT NULL,
    tps_sum        DOUBLE  NOT NULL,
    input_tokens   DOUBLE  NOT NULL,
    output_tokens  DOUBLE  NOT NULL,
    cached_tokens  DOUBLE  NOT NULL,
    input_n        BIGINT  NOT NULL,
    output_n       BIGINT  NOT NULL,
    first_us       BIGINT  NOT NULL,
    last_us        BIGINT  NOT NULL    -- one row per (project, bucket_us, user_id)
);

-- Per quarter hour (UTC), project and exact question (the hash of the trimmed text, with
-- its normalised key): how many calls asked it.
CREATE TABLE question_rollup (
    project      VARCHAR  NOT NULL,
    bucket_us    BIGINT   NOT NULL,
    input_hash   UBIGINT  NOT NULL,
    question_key UBIGINT  NOT NULL,
    n            BIGINT   NOT NULL    -- one row per (project, bucket_us, input_hash)
);

-- Per quarter hour (UTC), project and label: how many calls carry a flag (dim 0), how many
-- errors have a status code (1) or an error kind (2) ('' for none), and how many calls
-- have no session (3, label '').
CREATE TABLE label_rollup (
    project   VARCHAR  NOT NULL,
    bucket_us BIGINT   NOT NULL,
    dim       UTINYINT NOT NULL,
    label     VARCHAR  NOT NULL,
    n         BIGINT   NOT NULL    -- one row per (project, bucket_us, dim, label)
);
