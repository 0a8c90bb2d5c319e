-- Migration 2: the call table again, with a compression chosen for some columns.
--
-- DuckDB otherwise analyses every column segment with each of its compression methods and
-- keeps the smallest. For the answers that analysis costs more than the rest of an append
-- together (measured: 3.9 s of 8 s per million seed-001 calls); zstd writes them in 0.9 s
-- and smaller (47 MB against 206 MB). Only the answer column gets zstd: for the other text
-- columns automatic compression was as fast, and every zstd column costs the server memory
-- outside DuckDB's buffer pool when a checkpoint reads it back (about 1.4 MB each). Random
-- ids, which nothing compresses, are stored as they are. `USING COMPRESSION zstd` needs a
-- file in storage format v1.2 or later: llmscope creates v1.5 files, and leaves stores
-- created in the older format as they are (see migrations.rs).

CREATE TABLE calls_v2 (
    id                VARCHAR   NOT NULL USING COMPRESSION uncompressed,   -- 32 hex digits; content hash for imported lines
    project           VARCHAR   NOT NULL,
    schema_version    USMALLINT NOT NULL,
    trace_id          VARCHAR   NOT NULL USING COMPRESSION uncompressed,
    span_id           VARCHAR   NOT NULL USING COMPRESSION uncompressed,
    parent_span_id    VARCHAR USING COMPRESSION uncompressed,
    span_kind         VARCHAR   NOT NULL,   -- llm, chain, tool, retriever, embedding, agent, …
    name              VARCHAR,
    start_time        TIMESTAMP NOT NULL,   -- UTC
    first_token_time  TIMESTAMP,
    end_time          TIMESTAMP,
    latency_ms        DOUBLE,
    ttft_ms           DOUBLE,
    model             VARCHAR,
    provider          VARCHAR,
    operation         VARCHAR,
    user_id           VARCHAR,
    session_id        VARCHAR,
    request_id        VARCHAR USING COMPRESSION uncompressed,
    client_request_id VARCHAR USING COMPRESSION uncompressed,
    input             VARCHAR,              -- JSON: messages array or prompt string
    input_text        VARCHAR   NOT NULL,   -- last user message
    input_hash        UBIGINT,              -- xxh3 of the trimmed input_text (NULL when empty)
    question_key      UBIGINT,              -- xxh3 of the normalised question (NULL when empty)
    output            VARCHAR USING COMPRESSION zstd,              -- NULL when the source recorded no text
    output_empty      BOOLEAN,              -- output known, empty after trimming, and no tool calls
    tool_calls        VARCHAR,              -- JSON
    status            VARCHAR   NOT NULL,   -- ok, error, cancelled
    status_code       USMALLINT,
    error_kind        VARCHAR,
    error_message     VARCHAR,
    finish_reason     VARCHAR,
    input_tokens      UBIGINT,
    output_tokens     UBIGINT,
    cached_tokens     UBIGINT,
    total_tokens      UBIGINT,
    tokens_counted    BOOLEAN   NOT NULL,
    temperature       DOUBLE,
    json_mode         BOOLEAN   NOT NULL,
    response_format   VARCHAR,              -- JSON
    tools             VARCHAR,              -- JSON
    params            VARCHAR   NOT NULL,   -- JSON object
    tags              VARCHAR[] NOT NULL,
    attributes        VARCHAR   NOT NULL,   -- JSON object
    flags             VARCHAR[] NOT NULL,
    origin            VARCHAR   NOT NULL,   -- proxy, otlp, api, import
    source_file       VARCHAR,
    source_line       UBIGINT,
    source_format     VARCHAR,
    ingested_at       TIMESTAMP NOT NULL
);

INSERT INTO calls_v2 SELECT * FROM calls;
DROP TABLE calls;
ALTER TABLE calls_v2 RENAME TO calls;
