CREATE OR REPLACE VIEW `my-project`.`scm`.`certificates_revoked` AS
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
  status = 'REVOKED' AS revocation_final
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
  status IN ('REVOKED', 'REVOKING', 'CANCLEREVOKING')
