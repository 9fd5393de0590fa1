-- One row per certificate and host name it names: the domain and each of the `;`-separated sans,
-- lower-cased, blanks dropped, each once per certificate. A certificate without a domain keeps
-- its sans.
SELECT DISTINCT
    c.account,
    c.id AS certificate_id,
    LOWER(TRIM(n.host_name)) AS name,
    STARTS_WITH(TRIM(n.host_name), '*.') AS is_wildcard,
    c.status,
    c.expire_time
FROM certificates AS c
CROSS JOIN UNNEST(
    STRING_SPLIT(COALESCE(c.domain, '') || ';' || COALESCE(c.sans, ''), ';')
) AS n(host_name)  -- not `name`: BigQuery reads the alias as a column, ambiguous beside c.name
WHERE TRIM(n.host_name) <> ''
