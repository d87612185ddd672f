

select
    md5(customer || '-' || id) as order_key,
    id,
    customer,
    ((shipped_at)::date - (ordered_at)::date) as days_to_ship,
    ordered_at + ((interval '1 day') * (30)) as due_at,
    date_trunc('month', ordered_at) as order_month,
    cast(date_trunc('month', ordered_at) + (interval '1 month') - (interval '1 day') as date) as month_end,
    amount
from "analytics"."stg_orders"