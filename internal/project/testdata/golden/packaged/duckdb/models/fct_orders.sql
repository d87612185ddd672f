

select
    md5(cast(coalesce(cast(customer as TEXT), '') || coalesce(cast(id as TEXT), '') as TEXT)) as order_key,
    id,
    customer,
    date_diff('day', (ordered_at)::timestamp, (shipped_at)::timestamp) as days_to_ship,
    date_add(ordered_at, interval (30) day) as due_at,
    date_trunc('month', ordered_at) as order_month,
    cast(date_trunc('month', ordered_at) + (interval '1 month') - (interval '1 day') as date) as month_end,
    amount
from "analytics"."stg_orders"