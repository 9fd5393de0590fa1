-- The accounts retired with `scm-export forget`: their latest sync log row says forgotten. Every
-- other view leaves their rows out (their rows and history stay in the tables); a later run that
-- loads the account again brings it back.
WITH latest AS (
    SELECT
        account,
        outcome,
        ROW_NUMBER() OVER (PARTITION BY account ORDER BY started_at DESC) AS recency
    FROM sync_log
)
SELECT account
FROM latest
WHERE recency = 1 AND outcome = 'forgotten'
