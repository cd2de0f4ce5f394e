-- A token creation under an idempotency key used to keep the new secret in its record, to replay
-- it. Secrets are no longer stored anywhere but as hashes: records written before are rewritten
-- to what a replay now answers (the token without its secret, and why).
UPDATE idempotency_records
SET response_body = regexp_replace(
  response_body,
  ',"token":"[^"]*"}$',
  ',"token":null,"notice":"this replays the token''s creation (same idempotency_key): its secret was shown once and is not stored, so it cannot be shown again; if the first response was lost, revoke this token and create another"}'
)
WHERE response_body LIKE '{"status":"success","details":{"type":"api_token",%' AND response_body ~ ',"token":"[^"]*"}$';
