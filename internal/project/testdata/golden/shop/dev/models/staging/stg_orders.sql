select
    cast(id as integer) as order_id,
    cast(customer_id as integer) as customer_id,
    cast(ordered_at as timestamp) as ordered_at,
    cast(cast(ordered_at as timestamp) as date) as order_date,
    lower(trim(status)) as status
from "main"."raw_orders"
where cast(ordered_at as timestamp) >= cast('2024-01-01' as timestamp)