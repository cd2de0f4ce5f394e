-- Rules where the dialects meet (issue 20):
-- * Reported totals are remembered per field: a later batch without them keeps them instead of
--   falling back to the sums (totals_explicit could not say which of the two was reported; rows
--   from before keep both as they are).
-- * A time-out the stale-run sweeper inferred is provisional (provisional_end, on the run and on
--   the spans it closed): real terminal data replaces it. Any other end of a run is final.
ALTER TABLE "agent_instances"
ADD COLUMN     "cost_explicit" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "provisional_end" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "tokens_explicit" BOOLEAN NOT NULL DEFAULT false;

UPDATE "agent_instances" SET "tokens_explicit" = true, "cost_explicit" = true WHERE "totals_explicit";

ALTER TABLE "agent_instances" DROP COLUMN "totals_explicit";

ALTER TABLE "spans" ADD COLUMN     "provisional_end" BOOLEAN NOT NULL DEFAULT false;

-- spyglass_ingest_traces, as in 20261130010000_otlp_assembly_and_computed_cost (and planned as
-- 20261126170000_ingest_plan_cache_auto set it), with these rules:
-- * a parent_span_id naming a stored span of another trace rejects the trace, as a span id does
--   (one statement checks both);
-- * a finished run reported again as running keeps its status and finish fields; a terminal
--   report corrects a complete or failed run, and replaces a provisional time-out (the run's end
--   is then final), but a termination (a Prefactor terminate, a reported timed_out) is final;
-- * a span closed by a provisional end takes the new report, as an open span does;
-- * once the run is finished, none of its spans stays open: open ones are closed at the run's end
--   (active -> failed, pending -> cancelled; provisionally when the run's end is), by the same
--   statement that refreshes the totals;
-- * totals: a reported total wins and is kept by later reports without it; the other is the sum
--   over the run's llm spans.
CREATE OR REPLACE FUNCTION spyglass_ingest_traces(p_account text, p_agents jsonb, p_traces jsonb)
RETURNS TABLE (rejected_idx int, reason text)
LANGUAGE plpgsql
SET plan_cache_mode = auto
AS $$
#variable_conflict use_column
DECLARE
  t record;
  v_env text;
  v_agent text;
  v_ids text[];
  v_parents text[];
  v_taken text;
  v_status text;
  v_finished timestamptz;
  v_provisional boolean;
BEGIN
  INSERT INTO agents (id, account_id, name, retired, inserted_at, updated_at)
    SELECT x.new_id, p_account, x.name, false, now(), now() FROM jsonb_to_recordset(p_agents) AS x(name text, new_id text)
    ON CONFLICT (account_id, name) DO NOTHING;

  SELECT e.id INTO v_env FROM environments e WHERE e.account_id = p_account AND e.is_default ORDER BY e.inserted_at LIMIT 1;

  FOR t IN
    SELECT * FROM jsonb_to_recordset(p_traces) AS x(
      idx int, trace_id text, agent_name text, status text, termination_reason text, started_at timestamptz,
      finished_at timestamptz, duration_ms bigint, success boolean, outcome text, error_message text, metadata jsonb,
      total_tokens bigint, total_cost_usd numeric, assemble boolean, has_root boolean, join_other_agent boolean, spans jsonb)
  LOOP
    BEGIN
      SELECT ag.id INTO v_agent FROM agents ag WHERE ag.account_id = p_account AND ag.name = t.agent_name;

      -- A span id names one span of one trace, and a parent is a span of the same trace.
      -- Dynamic SQL, so planned for this call's ids every time: a generic plan of this statement,
      -- made while the tables were small, walked the account's spans instead of probing by key.
      -- (So would min(s.id) or an ORDER BY id: the planner reads the key index in id order.)
      v_ids := ARRAY(SELECT y ->> 'id' FROM jsonb_array_elements(t.spans) AS y);
      v_parents := ARRAY(SELECT y ->> 'parent_span_id' FROM jsonb_array_elements(t.spans) AS y WHERE y ->> 'parent_span_id' IS NOT NULL);
      EXECUTE 'SELECT (array_agg(s.id ORDER BY s.id))[1] FROM spans s WHERE s.account_id = $1 AND s.id = ANY($2 || $4) AND s.agent_instance_id <> $3'
        INTO v_taken USING p_account, v_ids, t.trace_id, v_parents;
      IF v_taken IS NOT NULL THEN
        rejected_idx := t.idx;
        reason := CASE WHEN v_taken = ANY(v_ids) THEN 'span ' || v_taken || ' belongs to another trace'
                       ELSE 'parent_span_id ' || v_taken || ' names a span of another trace' END;
        RETURN NEXT;
        CONTINUE;
      END IF;

      -- The run: inserted, or its header moved forward. A finished run reported as running keeps
      -- its status and finish fields, and so does a terminated one unless its end was a provisional
      -- time-out (a terminal report replaces that, as it corrects a complete or failed run). Takes the
      -- run's row lock first, so concurrent batches on one trace are serialized from here to their commit.
      INSERT INTO agent_instances AS cur (
        account_id, id, agent_id, environment_id, status, termination_reason, started_at, finished_at, duration_ms,
        success, outcome, error_message, metadata, last_activity_at, inserted_at, updated_at)
      VALUES (
        p_account, t.trace_id, v_agent, v_env, t.status, t.termination_reason, t.started_at, t.finished_at, t.duration_ms,
        t.success, t.outcome, t.error_message, t.metadata, now(), now(), now())
      ON CONFLICT (account_id, id) DO UPDATE SET
        status = CASE WHEN (cur.status NOT IN ('pending', 'active') AND (EXCLUDED.status IN ('pending', 'active') OR (cur.status = 'terminated' AND NOT cur.provisional_end))) THEN cur.status ELSE EXCLUDED.status END,
        termination_reason = CASE WHEN (cur.status NOT IN ('pending', 'active') AND (EXCLUDED.status IN ('pending', 'active') OR (cur.status = 'terminated' AND NOT cur.provisional_end))) THEN cur.termination_reason ELSE EXCLUDED.termination_reason END,
        finished_at = CASE WHEN (cur.status NOT IN ('pending', 'active') AND (EXCLUDED.status IN ('pending', 'active') OR (cur.status = 'terminated' AND NOT cur.provisional_end))) THEN cur.finished_at
                           WHEN EXCLUDED.status IN ('pending', 'active') THEN NULL
                           ELSE COALESCE(EXCLUDED.finished_at, cur.finished_at) END,
        duration_ms = CASE WHEN (cur.status NOT IN ('pending', 'active') AND (EXCLUDED.status IN ('pending', 'active') OR (cur.status = 'terminated' AND NOT cur.provisional_end))) THEN cur.duration_ms
                           WHEN EXCLUDED.status IN ('pending', 'active') THEN NULL
                           ELSE COALESCE(EXCLUDED.duration_ms, cur.duration_ms) END,
        error_message = CASE WHEN (cur.status NOT IN ('pending', 'active') AND (EXCLUDED.status IN ('pending', 'active') OR (cur.status = 'terminated' AND NOT cur.provisional_end))) THEN cur.error_message
                             ELSE COALESCE(EXCLUDED.error_message, cur.error_message) END,
        provisional_end = (cur.status NOT IN ('pending', 'active') AND cur.provisional_end AND EXCLUDED.status IN ('pending', 'active')),
        -- An assembled (OTLP) run starts with its earliest span, whichever export brought it.
        started_at = CASE WHEN t.assemble THEN LEAST(cur.started_at, EXCLUDED.started_at) ELSE EXCLUDED.started_at END,
        -- ...and belongs to the agent of its root span: spans of other services that arrived first
        -- joined it under theirs until then.
        agent_id = CASE WHEN t.assemble AND t.has_root THEN EXCLUDED.agent_id ELSE cur.agent_id END,
        -- Feedback is set once by ingest; afterwards only PATCH .../outcome changes it, so a resent
        -- batch cannot undo an operator's verdict.
        success = COALESCE(cur.success, EXCLUDED.success),
        outcome = COALESCE(cur.outcome, EXCLUDED.outcome),
        metadata = CASE WHEN t.assemble AND NOT t.has_root THEN COALESCE(cur.metadata, EXCLUDED.metadata)
                        ELSE COALESCE(EXCLUDED.metadata, cur.metadata) END,
        environment_id = COALESCE(cur.environment_id, EXCLUDED.environment_id),
        last_activity_at = now(),
        updated_at = now()
      WHERE cur.agent_id = EXCLUDED.agent_id OR (t.assemble AND t.join_other_agent)
      RETURNING cur.status, cur.agent_id, cur.finished_at, cur.provisional_end INTO v_status, v_agent, v_finished, v_provisional;
      IF NOT FOUND THEN
        rejected_idx := t.idx; reason := 'trace ' || t.trace_id || ' already exists for another agent';
        RETURN NEXT;
        CONTINUE;
      END IF;

      IF t.assemble AND t.has_root THEN
        EXECUTE 'UPDATE spans SET agent_id = $3 WHERE account_id = $1 AND agent_instance_id = $2 AND agent_id <> $3'
          USING p_account, t.trace_id, v_agent;
      END IF;

      -- The spans: inserted, or updated while open or closed by a provisional end (a span that
      -- finished otherwise is immutable).
      INSERT INTO spans AS cur (
        account_id, id, agent_instance_id, agent_id, parent_span_id, schema_name, name, status, payload, result_payload,
        payload_validation, started_at, finished_at, duration_ms, model, input_tokens, output_tokens, total_tokens, cost_usd,
        cost_computed, error_message, metadata, inserted_at, updated_at)
      SELECT p_account, y.id, t.trace_id, v_agent, y.parent_span_id, y.schema_name, y.name, y.status,
        COALESCE(y.payload, '{}'::jsonb), y.result_payload, '{"status":"unchecked","errors":[]}'::jsonb,
        y.started_at, y.finished_at, y.duration_ms, y.model, y.input_tokens, y.output_tokens,
        y.total_tokens, y.cost_usd::numeric(20, 6), COALESCE(y.cost_computed, false), y.error_message, y.metadata, now(), now()
      FROM jsonb_to_recordset(t.spans) AS y(
        id text, parent_span_id text, schema_name text, name text, status text, payload jsonb, result_payload jsonb,
        started_at timestamptz, finished_at timestamptz, duration_ms bigint, model text, input_tokens int, output_tokens int,
        total_tokens int, cost_usd numeric, cost_computed boolean, error_message text, metadata jsonb)
      ON CONFLICT (account_id, id) DO UPDATE SET
        parent_span_id = COALESCE(EXCLUDED.parent_span_id, cur.parent_span_id),
        schema_name = EXCLUDED.schema_name,
        name = EXCLUDED.name,
        status = EXCLUDED.status,
        payload = CASE WHEN EXCLUDED.payload = '{}'::jsonb THEN cur.payload ELSE EXCLUDED.payload END,
        result_payload = COALESCE(EXCLUDED.result_payload, cur.result_payload),
        started_at = EXCLUDED.started_at,
        finished_at = CASE WHEN EXCLUDED.status IN ('pending', 'active') THEN NULL ELSE COALESCE(EXCLUDED.finished_at, cur.finished_at) END,
        duration_ms = CASE WHEN EXCLUDED.status IN ('pending', 'active') THEN NULL ELSE COALESCE(EXCLUDED.duration_ms, cur.duration_ms) END,
        model = COALESCE(EXCLUDED.model, cur.model),
        input_tokens = COALESCE(EXCLUDED.input_tokens, cur.input_tokens),
        output_tokens = COALESCE(EXCLUDED.output_tokens, cur.output_tokens),
        total_tokens = COALESCE(EXCLUDED.total_tokens, cur.total_tokens),
        cost_usd = COALESCE(EXCLUDED.cost_usd, cur.cost_usd),
        cost_computed = CASE WHEN EXCLUDED.cost_usd IS NULL THEN cur.cost_computed ELSE EXCLUDED.cost_computed END,
        error_message = COALESCE(EXCLUDED.error_message, cur.error_message),
        metadata = COALESCE(EXCLUDED.metadata, cur.metadata),
        provisional_end = false,
        updated_at = now()
      WHERE cur.agent_instance_id = EXCLUDED.agent_instance_id AND (cur.status IN ('pending', 'active') OR cur.provisional_end);

      -- A finished run's spans that are still open are closed at its end (or at their own start,
      -- when later or when the run has no end time); then the run's effective totals: each reported
      -- one (now or before), else the sum over its llm spans. Dynamic SQL too: a generic plan made
      -- while the tables were small summed through the account's spans by the wrong index. (The
      -- sums read the spans as they were before the closing, which changes no tokens or cost.)
      EXECUTE 'WITH closed AS (
          UPDATE spans c SET
            status = CASE WHEN c.status = ''pending'' THEN ''cancelled'' ELSE ''failed'' END,
            started_at = COALESCE(c.started_at, $6, now()),
            finished_at = GREATEST(COALESCE($6, c.started_at, now()), COALESCE(c.started_at, $6, now())),
            duration_ms = (EXTRACT(EPOCH FROM (GREATEST(COALESCE($6, c.started_at, now()), COALESCE(c.started_at, $6, now())) - COALESCE(c.started_at, $6, now()))) * 1000)::bigint,
            provisional_end = $7,
            updated_at = now()
          WHERE $5 AND c.account_id = $1 AND c.agent_instance_id = $2 AND c.status IN (''pending'', ''active'')
        )
        UPDATE agent_instances i SET
          total_tokens = CASE WHEN $3 IS NOT NULL THEN $3 WHEN i.tokens_explicit THEN i.total_tokens ELSE s.tokens END,
          total_cost_usd = CASE WHEN $4 IS NOT NULL THEN $4::numeric(20, 6) WHEN i.cost_explicit THEN i.total_cost_usd ELSE s.cost END,
          tokens_explicit = i.tokens_explicit OR $3 IS NOT NULL,
          cost_explicit = i.cost_explicit OR $4 IS NOT NULL
        FROM (
          SELECT SUM(sp.total_tokens)::bigint AS tokens, SUM(sp.cost_usd) AS cost
          FROM spans sp WHERE sp.account_id = $1 AND sp.agent_instance_id = $2 AND sp.schema_name = ''llm''
        ) AS s
        WHERE i.account_id = $1 AND i.id = $2'
        USING p_account, t.trace_id, t.total_tokens, t.total_cost_usd, v_status NOT IN ('pending', 'active'), v_finished, v_provisional;
    EXCEPTION WHEN data_exception THEN
      -- Values the client sent that the columns cannot hold (a number out of range, say).
      rejected_idx := t.idx; reason := 'could not store trace: ' || SQLERRM;
      RETURN NEXT;
    END;
  END LOOP;
END;
$$;
