-- One row per status change of a certificate, as scheduled loads saw it: the status before and
-- after, and when the change was seen (the load that first saw the new status). Each history
-- version is what a load saw when something changed, so two consecutive versions of a
-- certificate with different statuses are one change.
WITH versions AS (
    SELECT
        account,
        id,
        name,
        domain,
        status,
        valid_from,
        LAG(status) OVER (PARTITION BY account, id ORDER BY valid_from) AS previous_status
    FROM certificates_history
)
SELECT
    account,
    id,
    name,
    domain,
    previous_status,
    status AS new_status,
    valid_from AS changed_seen_at
FROM versions
WHERE previous_status IS NOT NULL AND previous_status <> status
