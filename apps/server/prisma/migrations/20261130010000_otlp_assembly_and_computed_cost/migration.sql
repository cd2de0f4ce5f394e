-- OTLP ingest through the batch ingest function, and costs computed from the model price table.
--
-- spans.cost_computed: the span's cost_usd was computed by Spyglass from its model and tokens
-- (the client reported none); a reported cost always replaces a computed one.
--
-- spyglass_ingest_traces takes two more fields per trace. `assemble` (OTLP): the spans of one run
-- arrive over several exports, children before their parent, so the run starts with its earliest
-- span, takes the agent, status and resource of its root span once that arrives (running until
-- then), and keeps the resource it has when an export without the root comes; spans of another
-- service join the run instead of being refused, unless `join_other_agent` is false (a token
-- restricted to one agent writes that agent's runs only). `has_root`: this export carries the root.
-- Otherwise the same function as 20261126130000_ingest_generic_plans.
ALTER TABLE spans ADD COLUMN cost_computed boolean NOT NULL DEFAULT false;

CREATE OR REPLACE FUNCTION spyglass_ingest_traces(p_account text, p_agents jsonb, p_traces jsonb)
RETURNS TABLE (rejected_idx int, reason text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
  t record;
  v_env text;
  v_agent text;
  v_ids text[];
  v_taken text;
  v_status text;
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

      -- A span id names one span of one trace.
      -- Dynamic SQL, so planned for this call's ids every time: a generic plan of this statement,
      -- made while the tables were small, walked the account's spans instead of probing by key.
      -- (So would min(s.id) or an ORDER BY id: the planner reads the key index in id order.)
      v_ids := ARRAY(SELECT y ->> 'id' FROM jsonb_array_elements(t.spans) AS y);
      EXECUTE 'SELECT (array_agg(s.id ORDER BY s.id))[1] FROM spans s WHERE s.account_id = $1 AND s.id = ANY($2) AND s.agent_instance_id <> $3'
        INTO v_taken USING p_account, v_ids, t.trace_id;
      IF v_taken IS NOT NULL THEN
        rejected_idx := t.idx; reason := 'span ' || v_taken || ' belongs to another trace';
        RETURN NEXT;
        CONTINUE;
      END IF;

      -- The run: inserted, or its header moved forward. A finished run reported again as running
      -- keeps its status and finish fields. Takes the run's row lock first, so concurrent batches
      -- on one trace are serialized from here to their commit.
      INSERT INTO agent_instances AS cur (
        account_id, id, agent_id, environment_id, status, termination_reason, started_at, finished_at, duration_ms,
        success, outcome, error_message, metadata, last_activity_at, inserted_at, updated_at)
      VALUES (
        p_account, t.trace_id, v_agent, v_env, t.status, t.termination_reason, t.started_at, t.finished_at, t.duration_ms,
        t.success, t.outcome, t.error_message, t.metadata, now(), now(), now())
      ON CONFLICT (account_id, id) DO UPDATE SET
        status = CASE WHEN (cur.status NOT IN ('pending', 'active') AND EXCLUDED.status IN ('pending', 'active')) THEN cur.status ELSE EXCLUDED.status END,
        termination_reason = CASE WHEN (cur.status NOT IN ('pending', 'active') AND EXCLUDED.status IN ('pending', 'active')) THEN cur.termination_reason ELSE EXCLUDED.termination_reason END,
        finished_at = CASE WHEN (cur.status NOT IN ('pending', 'active') AND EXCLUDED.status IN ('pending', 'active')) THEN cur.finished_at
                           WHEN EXCLUDED.status IN ('pending', 'active') THEN NULL
                           ELSE COALESCE(EXCLUDED.finished_at, cur.finished_at) END,
        duration_ms = CASE WHEN (cur.status NOT IN ('pending', 'active') AND EXCLUDED.status IN ('pending', 'active')) THEN cur.duration_ms
                           WHEN EXCLUDED.status IN ('pending', 'active') THEN NULL
                           ELSE COALESCE(EXCLUDED.duration_ms, cur.duration_ms) END,
        error_message = CASE WHEN (cur.status NOT IN ('pending', 'active') AND EXCLUDED.status IN ('pending', 'active')) THEN cur.error_message
                             ELSE COALESCE(EXCLUDED.error_message, cur.error_message) END,
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
      RETURNING cur.status, cur.agent_id INTO v_status, v_agent;
      IF NOT FOUND THEN
        rejected_idx := t.idx; reason := 'trace ' || t.trace_id || ' already exists for another agent';
        RETURN NEXT;
        CONTINUE;
      END IF;

      IF t.assemble AND t.has_root THEN
        EXECUTE 'UPDATE spans SET agent_id = $3 WHERE account_id = $1 AND agent_instance_id = $2 AND agent_id <> $3'
          USING p_account, t.trace_id, v_agent;
      END IF;

      -- The spans: inserted, or updated while still open (a finished span is immutable).
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
        finished_at = COALESCE(EXCLUDED.finished_at, cur.finished_at),
        duration_ms = COALESCE(EXCLUDED.duration_ms, cur.duration_ms),
        model = COALESCE(EXCLUDED.model, cur.model),
        input_tokens = COALESCE(EXCLUDED.input_tokens, cur.input_tokens),
        output_tokens = COALESCE(EXCLUDED.output_tokens, cur.output_tokens),
        total_tokens = COALESCE(EXCLUDED.total_tokens, cur.total_tokens),
        cost_usd = COALESCE(EXCLUDED.cost_usd, cur.cost_usd),
        cost_computed = CASE WHEN EXCLUDED.cost_usd IS NULL THEN cur.cost_computed ELSE EXCLUDED.cost_computed END,
        error_message = COALESCE(EXCLUDED.error_message, cur.error_message),
        metadata = COALESCE(EXCLUDED.metadata, cur.metadata),
        updated_at = now()
      WHERE cur.agent_instance_id = EXCLUDED.agent_instance_id AND cur.status IN ('pending', 'active');

      -- The run's effective totals: the reported ones, else the sums over its llm spans. Dynamic
      -- SQL too: a generic plan made while the tables were small summed through the account's
      -- spans by the wrong index.
      EXECUTE 'UPDATE agent_instances i SET
          total_tokens = COALESCE($3, s.tokens),
          total_cost_usd = COALESCE($4::numeric(20, 6), s.cost),
          totals_explicit = ($3 IS NOT NULL OR $4 IS NOT NULL)
        FROM (
          SELECT SUM(sp.total_tokens)::bigint AS tokens, SUM(sp.cost_usd) AS cost
          FROM spans sp WHERE sp.account_id = $1 AND sp.agent_instance_id = $2 AND sp.schema_name = ''llm''
        ) AS s
        WHERE i.account_id = $1 AND i.id = $2'
        USING p_account, t.trace_id, t.total_tokens, t.total_cost_usd;
    EXCEPTION WHEN data_exception THEN
      -- Values the client sent that the columns cannot hold (a number out of range, say).
      rejected_idx := t.idx; reason := 'could not store trace: ' || SQLERRM;
      RETURN NEXT;
    END;
  END LOOP;
END;
$$;

-- CREATE OR REPLACE drops the function's settings: keep 20261126170000_ingest_plan_cache_auto's.
ALTER FUNCTION spyglass_ingest_traces(text, jsonb, jsonb) SET plan_cache_mode = auto;
