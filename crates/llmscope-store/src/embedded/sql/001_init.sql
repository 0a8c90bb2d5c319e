-- Migration 1: the call table and the assessment table.
-- Append-only: rows are never updated; a later assessment overrides an earlier one by
-- naming it in `overrides`.

CREATE TABLE calls (
    id                VARCHAR   NOT NULL,   -- 32 hex digits; content hash for imported lines
    project           VARCHAR   NOT NULL,
    schema_version    USMALLINT NOT NULL,
    trace_id          VARCHAR   NOT NULL,
    span_id           VARCHAR   NOT NULL,
    parent_span_id    VARCHAR,
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
    request_id        VARCHAR,
    client_request_id VARCHAR,
    input             VARCHAR,              -- JSON: messages array or prompt string
    input_text        VARCHAR   NOT NULL,   -- last user message
    input_hash        UBIGINT,              -- xxh3 of the trimmed input_text (NULL when empty)
    question_key      UBIGINT,              -- xxh3 of the normalised question (NULL when empty)
    output            VARCHAR,              -- NULL when the source recorded no text
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

CREATE TABLE assessments (
    id          VARCHAR   NOT NULL,
    project     VARCHAR   NOT NULL,
    trace_id    VARCHAR   NOT NULL,
    call_id     VARCHAR,
    name        VARCHAR   NOT NULL,
    value_type  VARCHAR   NOT NULL,   -- bool, number, text
    value_bool  BOOLEAN,
    value_num   DOUBLE,
    value_text  VARCHAR,
    source_type VARCHAR   NOT NULL,   -- HUMAN, LLM_JUDGE, CODE
    source_id   VARCHAR   NOT NULL,
    rationale   VARCHAR,
    metadata    VARCHAR   NOT NULL,   -- JSON object
    overrides   VARCHAR,
    created_at  TIMESTAMP NOT NULL
);
