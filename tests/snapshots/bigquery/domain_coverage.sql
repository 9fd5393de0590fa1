CREATE OR REPLACE VIEW `my-project`.`scm`.`domain_coverage` AS
WITH names AS (
  SELECT DISTINCT
    account,
    name,
    is_wildcard
  FROM `my-project`.`scm`.`certificate_domains`
), covers AS (
  SELECT
    account,
    certificate_id,
    name,
    is_wildcard,
    expire_time
  FROM `my-project`.`scm`.`certificate_domains`
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
), matches AS (
  SELECT
    n.account,
    n.name,
    c.certificate_id,
    c.expire_time
  FROM names AS n
  JOIN covers AS c
    ON c.account = n.account AND c.name = n.name
  UNION ALL
  SELECT
    n.account,
    n.name,
    c.certificate_id,
    c.expire_time
  FROM names AS n
  JOIN covers AS c
    ON c.account = n.account
    AND SUBSTRING(c.name, 3) = SUBSTRING(n.name, INSTR(n.name, '.') + 1)
  WHERE
    c.is_wildcard AND NOT n.is_wildcard AND INSTR(n.name, '.') > 0
)
SELECT
  n.account,
  n.name,
  n.is_wildcard,
  MAX(m.expire_time) AS cover_expires_at,
  COUNT(DISTINCT m.certificate_id) AS covering_certificates,
  COALESCE(MAX(m.expire_time) <= CURRENT_TIMESTAMP() + INTERVAL 30 DAY, TRUE) AS at_risk
FROM names AS n
LEFT JOIN matches AS m
  ON m.account = n.account AND m.name = n.name
GROUP BY
  n.account,
  n.name,
  n.is_wildcard
