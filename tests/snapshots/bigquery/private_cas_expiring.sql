CREATE OR REPLACE VIEW `my-project`.`scm`.`private_cas_expiring` AS
SELECT
  account,
  id,
  type,
  status,
  common_name,
  issuer_name,
  key_algorithm,
  not_before,
  not_after,
  CAST(FLOOR((
    UNIX_SECONDS(not_after) - UNIX_SECONDS(CURRENT_TIMESTAMP())
  ) / 86400) AS INT64) AS days_left,
  not_after <= CURRENT_TIMESTAMP() + INTERVAL 30 DAY AS expiring,
  crl_enabled
FROM (
  SELECT
    *
  FROM `my-project`.`scm`.`private_cas`
  WHERE
    NOT account IN (
      SELECT
        account
      FROM `my-project`.`scm`.`forgotten_accounts`
    )
) AS private_cas
WHERE
  status <> 'DELETED'
