CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_status_changes` AS
WITH versions AS (
  SELECT
    account,
    id,
    name,
    domain,
    status,
    valid_from,
    LAG(status) OVER (PARTITION BY account, id ORDER BY valid_from NULLS LAST) AS previous_status
  FROM (
    SELECT
      *
    FROM `my-project`.`scm`.`certificates_history`
    WHERE
      NOT account IN (
        SELECT
          account
        FROM `my-project`.`scm`.`forgotten_accounts`
      )
  ) AS certificates_history
)
SELECT
  account,
  id,
  name,
  domain,
  previous_status,
  status AS new_status,
  valid_from AS changed_seen_at
FROM versions
WHERE
  NOT previous_status IS NULL AND previous_status <> status
