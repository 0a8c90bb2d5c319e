-- Migration 6: cache-write tokens, the input tokens written to the provider's prompt cache
-- (part of input_tokens, as cached_tokens are), which Anthropic and Bedrock charge above
-- the input price: a column of the calls and of the token rollups.
ALTER TABLE calls ADD COLUMN cache_write_tokens UBIGINT;
ALTER TABLE call_rollup ADD COLUMN cache_write_tokens DOUBLE DEFAULT 0;
ALTER TABLE user_rollup ADD COLUMN cache_write_tokens DOUBLE DEFAULT 0;

-- Calls stored before kept the count as the attribute `cache_creation_input_tokens`
-- (Anthropic's name): it is read into the column (the attribute stays), and the quarter
-- hours of those calls are rolled up again (rollup.rs, backfill_6).
UPDATE calls
SET cache_write_tokens = TRY_CAST(json_extract_string(attributes, '$.cache_creation_input_tokens') AS UBIGINT)
WHERE contains(attributes, '"cache_creation_input_tokens"');
