CREATE OR REPLACE VIEW `my-project`.`scm`.`private_certificates_expired` AS
SELECT
  account,
  id,
  common_name,
  issuer_name,
  status,
  not_after,
  CAST(FLOOR((
    UNIX_SECONDS(CURRENT_TIMESTAMP()) - UNIX_SECONDS(not_after)
  ) / 86400) AS INT64) AS days_since_expiry,
  status <> 'EXPIRED' AS status_still_valid
FROM (
  SELECT
    *
  FROM `my-project`.`scm`.`private_certificates`
  WHERE
    NOT account IN (
      SELECT
        account
      FROM `my-project`.`scm`.`forgotten_accounts`
    )
) AS private_certificates
WHERE
  status = 'EXPIRED'
  OR (
    status = 'ISSUED' AND not_after <= CURRENT_TIMESTAMP()
  )
