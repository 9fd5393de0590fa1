CREATE OR REPLACE VIEW `my-project`.`scm`.`sync_status` AS
WITH ranked AS (
  SELECT
    account,
    resource,
    started_at,
    outcome,
    error,
    ROW_NUMBER() OVER (PARTITION BY account, resource ORDER BY started_at DESC) AS recency
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`sync_log`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS sync_log
), loaded AS (
  SELECT
    account,
    resource,
    MAX(finished_at) AS last_loaded_at
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`sync_log`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS sync_log
  WHERE
    outcome = 'loaded'
  GROUP BY
    account,
    resource
)
SELECT
  r.account,
  r.resource,
  r.started_at AS last_sync_at,
  r.outcome AS last_outcome,
  r.error AS last_error,
  l.last_loaded_at
FROM ranked AS r
LEFT JOIN loaded AS l
  ON l.account = r.account AND l.resource = r.resource
WHERE
  r.recency = 1
