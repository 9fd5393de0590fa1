-- Certificates that have expired: status EXPIRED, or an expire_time in the past while the status
-- still says the certificate is valid (the status lags, or the certificate was never renewed).
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
    CAST(FLOOR((EPOCH(CURRENT_TIMESTAMP) - EPOCH(expire_time)) / 86400) AS BIGINT) AS days_since_expiry,
    status <> 'EXPIRED' AS status_still_valid
FROM certificates
WHERE status = 'EXPIRED'
    OR (status IN (:valid_statuses) AND expire_time <= CURRENT_TIMESTAMP)
