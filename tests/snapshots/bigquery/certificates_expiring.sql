CREATE OR REPLACE VIEW `my-project`.`scm`.`certificates_expiring` AS
SELECT
  account,
  id,
  name,
  domain,
  sans,
  status,
  type,
  brand,
  expire_time,
  CAST(FLOOR((
    UNIX_SECONDS(expire_time) - UNIX_SECONDS(CURRENT_TIMESTAMP())
  ) / 86400) AS INT64) AS days_left,
  CASE
    WHEN expire_time <= CURRENT_TIMESTAMP() + INTERVAL '7' DAY
    THEN 'within 7 days'
    WHEN expire_time <= CURRENT_TIMESTAMP() + INTERVAL '14' DAY
    THEN 'within 14 days'
    WHEN expire_time <= CURRENT_TIMESTAMP() + INTERVAL '30' DAY
    THEN 'within 30 days'
    WHEN expire_time <= CURRENT_TIMESTAMP() + INTERVAL '60' DAY
    THEN 'within 60 days'
    WHEN expire_time <= CURRENT_TIMESTAMP() + INTERVAL '90' DAY
    THEN 'within 90 days'
    ELSE 'beyond 90 days'
  END AS expiry_bucket
FROM (
  SELECT
    *
  FROM `my-project`.`scm`.`certificates`
  WHERE
    NOT account IN (
      SELECT
        account
      FROM `my-project`.`scm`.`forgotten_accounts`
    )
) AS certificates
WHERE
  status IN (
    'ISSUED',
    'UPLOAD',
    'SUPPLEMENTCHECKING',
    'CANCELSUPPLEMENTING',
    'REVOKING',
    'CANCLEREVOKING'
  )
  AND expire_time > CURRENT_TIMESTAMP()
  AND expire_time <= CURRENT_TIMESTAMP() + INTERVAL 30 DAY
