CREATE OR REPLACE VIEW `my-project`.`scm`.`certificates_expired` AS
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
    UNIX_SECONDS(CURRENT_TIMESTAMP()) - UNIX_SECONDS(expire_time)
  ) / 86400) AS INT64) AS days_since_expiry,
  status <> 'EXPIRED' AS status_still_valid
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
  status = 'EXPIRED'
  OR (
    status IN (
      'ISSUED',
      'UPLOAD',
      'SUPPLEMENTCHECKING',
      'CANCELSUPPLEMENTING',
      'REVOKING',
      'CANCLEREVOKING'
    )
    AND expire_time <= CURRENT_TIMESTAMP()
  )
