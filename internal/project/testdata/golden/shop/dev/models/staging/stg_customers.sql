-- One row per customer. The application occasionally exports the same
-- account twice, so keep only the most recently created row per id.
select
    customer_id, first_name, last_name, email, country_code, created_at
from (
    select
        customer_id, first_name, last_name, email, country_code, created_at,
        row_number() over (partition by customer_id order by created_at desc) as dedupe_rank
    from (
        
    select
        cast(id as integer) as customer_id,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        lower(trim(email)) as email,
        upper(trim(country_code)) as country_code,
        cast(created_at as timestamp) as created_at
    from "main"."raw_customers"

    ) as candidate_rows
) as ranked_rows
where dedupe_rank = 1