-- Private certificates that have expired: status EXPIRED, or not_after in the past while the
-- status still says ISSUED, in certificates_expired's style.
SELECT
    account,
    id,
    common_name,
    issuer_name,
    status,
    not_after,
    CAST(FLOOR((EPOCH(CURRENT_TIMESTAMP) - EPOCH(not_after)) / 86400) AS BIGINT) AS days_since_expiry,
    status <> 'EXPIRED' AS status_still_valid
FROM private_certificates
WHERE status = 'EXPIRED' OR (status = 'ISSUED' AND not_after <= CURRENT_TIMESTAMP)
