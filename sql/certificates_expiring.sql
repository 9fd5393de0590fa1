-- Certificates that hold a valid certificate and expire after now, within the threshold.
-- Computed at query time: the view never goes stale between loads.
-- days_left: whole days left, rounded down. expiry_bucket: the smallest of 7, 14, 30, 60, 90 days
-- that the time left fits in, or 'beyond 90 days'.
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
    CAST(FLOOR((EPOCH(expire_time) - EPOCH(CURRENT_TIMESTAMP)) / 86400) AS BIGINT) AS days_left,
    CASE
        WHEN expire_time <= CURRENT_TIMESTAMP + INTERVAL 7 DAY THEN 'within 7 days'
        WHEN expire_time <= CURRENT_TIMESTAMP + INTERVAL 14 DAY THEN 'within 14 days'
        WHEN expire_time <= CURRENT_TIMESTAMP + INTERVAL 30 DAY THEN 'within 30 days'
        WHEN expire_time <= CURRENT_TIMESTAMP + INTERVAL 60 DAY THEN 'within 60 days'
        WHEN expire_time <= CURRENT_TIMESTAMP + INTERVAL 90 DAY THEN 'within 90 days'
        ELSE 'beyond 90 days'
    END AS expiry_bucket
FROM certificates
WHERE status IN (:valid_statuses)
    AND expire_time > CURRENT_TIMESTAMP
    AND expire_time <= CURRENT_TIMESTAMP + INTERVAL :expiring_within_days DAY
