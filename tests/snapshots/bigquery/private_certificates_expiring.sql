CREATE OR REPLACE VIEW `my-project`.`scm`.`private_certificates_expiring` AS
SELECT
  account,
  id,
  common_name,
  issuer_name,
  status,
  not_after,
  CAST(FLOOR((
    UNIX_SECONDS(not_after) - UNIX_SECONDS(CURRENT_TIMESTAMP())
  ) / 86400) AS INT64) AS days_left
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
  status = 'ISSUED'
  AND not_after > CURRENT_TIMESTAMP()
  AND not_after <= CURRENT_TIMESTAMP() + INTERVAL 30 DAY
