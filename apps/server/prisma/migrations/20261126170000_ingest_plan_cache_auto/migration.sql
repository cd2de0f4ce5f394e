-- The server's connections now run with plan_cache_mode = force_custom_plan (set when each pooled
-- connection opens, see openDatabase): its hot span writes are prepared statements, parsed once
-- per connection, and must still be planned for their values, because a generic plan made before
-- the tables have statistics looks runs and spans up by the account alone instead of by their key.
-- spyglass_ingest_traces is the exception: its statements were written for PostgreSQL's plan cache
-- (see 20261126130000_ingest_generic_plans), so it keeps the default mode whatever the session's.
ALTER FUNCTION spyglass_ingest_traces(text, jsonb, jsonb) SET plan_cache_mode = auto;
