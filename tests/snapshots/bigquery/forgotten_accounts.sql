CREATE OR REPLACE VIEW `my-project`.`scm`.`forgotten_accounts` AS
WITH latest AS (
  SELECT
    account,
    outcome,
    ROW_NUMBER() OVER (PARTITION BY account ORDER BY started_at DESC) AS recency
  FROM `my-project`.`scm`.`sync_log`
)
SELECT
  account
FROM latest
WHERE
  recency = 1 AND outcome = 'forgotten'
