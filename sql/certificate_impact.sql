-- One row per certificate that is live (a status under which the account holds a usable
-- certificate), expired, or failed validation (UNPASSED): how long it has, where it is deployed,
-- who owns it, and whether a successor already exists.
-- deployed_resources: the API's count over every service, NULL where it is unknown (never looked
-- up: the API looks up only live certificates; or a region answered is_error);
-- deployment_complete: every deployed resource was listed. deployed_services: the services with
-- a resource, comma-joined. owner: the value of the policy's owner tag (expiry_policy).
-- successor_*: the certificate its renewal bought.
WITH deployed AS (
    SELECT account, certificate_id, resource_num, complete
    FROM certificate_deployment_counts
    WHERE service = 'ALL'
),
services AS (
    SELECT
        account,
        certificate_id,
        STRING_AGG(service, ', ' ORDER BY service) AS deployed_services
    FROM certificate_deployment_counts
    WHERE service <> 'ALL' AND (listed > 0 OR reported_resource_num > 0)
    GROUP BY account, certificate_id
),
owners AS (
    SELECT account, certificate_id, MIN(value) AS owner
    FROM certificate_tags
    WHERE key = (SELECT MIN(name) FROM expiry_policy WHERE rule = 'owner_tag')
    GROUP BY account, certificate_id
)
SELECT
    c.account,
    c.id,
    c.name,
    c.domain,
    c.sans,
    c.status,
    c.expire_time,
    CAST(FLOOR((EPOCH(c.expire_time) - EPOCH(CURRENT_TIMESTAMP)) / 86400) AS BIGINT) AS days_left,
    d.resource_num AS deployed_resources,
    COALESCE(d.complete, FALSE) AS deployment_complete,
    s.deployed_services,
    o.owner,
    r.renewal_cert_id AS successor_id,
    successor.status AS successor_status,
    successor.expire_time AS successor_expire_time
FROM certificates AS c
LEFT JOIN deployed AS d ON d.account = c.account AND d.certificate_id = c.id
LEFT JOIN services AS s ON s.account = c.account AND s.certificate_id = c.id
LEFT JOIN owners AS o ON o.account = c.account AND o.certificate_id = c.id
LEFT JOIN certificate_renewals AS r ON r.account = c.account AND r.certificate_id = c.id
LEFT JOIN certificates AS successor
    ON successor.account = c.account AND successor.id = r.renewal_cert_id
WHERE c.status IN (:valid_statuses) OR c.status IN ('EXPIRED', 'UNPASSED')
