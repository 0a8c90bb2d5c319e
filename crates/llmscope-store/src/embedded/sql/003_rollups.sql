-- Migration 3: the rollups the report reads instead of the calls (see rollup.rs), and each
-- call's fine latency and TTFT bins (bins.rs), which the exact percentiles scan for.
-- Appends mark their quarter hours dirty; roll-ups rebuild those; migrating builds them all.

ALTER TABLE calls ADD COLUMN latency_bin USMALLINT;
ALTER TABLE calls ADD COLUMN ttft_bin USMALLINT;

CREATE TABLE call_rollup (
    project        VARCHAR NOT NULL,
    bucket_us      BIGINT  NOT NULL,   -- start of the quarter hour (UTC), µs since 1970
    model          VARCHAR NOT NULL,   -- '' for calls without a model
    requests       BIGINT  NOT NULL,
    errors         BIGINT  NOT NULL,   -- status = 'error'
    cancelled      BIGINT  NOT NULL,
    empty_output   BIGINT  NOT NULL,
    success        BIGINT  NOT NULL,   -- status = 'ok' and output not empty
    without_user   BIGINT  NOT NULL,
    json_mode      BIGINT  NOT NULL,
    tokens_counted BIGINT  NOT NULL,
    latency_n      BIGINT  NOT NULL,
    latency_sum    DOUBLE  NOT NULL,
    latency_max    DOUBLE,
    ttft_n         BIGINT  NOT NULL,
    ttft_sum       DOUBLE  NOT NULL,
    tps_n          BIGINT  NOT NULL,   -- calls with output tokens and a latency above 0
    tps_sum        DOUBLE  NOT NULL,   -- their output tokens per second, summed
    input_tokens   HUGEINT NOT NULL,
    output_tokens  HUGEINT NOT NULL,
    cached_tokens  HUGEINT NOT NULL,
    input_n        BIGINT  NOT NULL,   -- calls reporting input tokens
    output_n       BIGINT  NOT NULL,
    first_us       BIGINT  NOT NULL,   -- earliest and latest start_time
    last_us        BIGINT  NOT NULL   -- one row per (project, bucket_us, model); no index (rollup.rs)
);

CREATE TABLE call_rollup_hist (
    project   VARCHAR  NOT NULL,
    bucket_us BIGINT   NOT NULL,
    model     VARCHAR  NOT NULL,
    metric    UTINYINT NOT NULL,   -- 0 latency_ms, 1 ttft_ms
    bin       INTEGER  NOT NULL,   -- coarse value bin (bins.rs)
    n         BIGINT   NOT NULL    -- one row per (project, bucket_us, model, metric, bin)
);

CREATE TABLE rollup_dirty (
    project   VARCHAR NOT NULL,
    bucket_us BIGINT  NOT NULL    -- a quarter hour with calls the rollups lack (rollup.rs)
);
