CREATE OR REPLACE VIEW `my-project`.`scm`.`certificate_domains` AS
SELECT DISTINCT
  c.account,
  c.id AS certificate_id,
  LOWER(TRIM(host_name)) AS name,
  STARTS_WITH(TRIM(host_name), '*.') AS is_wildcard,
  c.status,
  c.expire_time
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
) AS c
CROSS JOIN UNNEST(SPLIT(COALESCE(c.domain, '') || ';' || COALESCE(c.sans, ''), ';')) AS host_name
WHERE
  TRIM(host_name) <> ''
