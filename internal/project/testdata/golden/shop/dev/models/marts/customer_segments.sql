-- Customers grouped into segments by lifetime value.



select
    customer_id,
    number_of_orders,
    lifetime_value,
    case
        when number_of_orders = 0 then 'prospect'
        when lifetime_value >= 2500 then 'vip'
        when lifetime_value >= 750 then 'regular'
        else 'occasional'
    end as segment,
    cast(row_number() over (order by lifetime_value desc, customer_id) as integer) as value_rank,
    cast(
        (cast(lifetime_value as numeric) / nullif(cast(sum(lifetime_value) over () as numeric), 0))
        as numeric(12, 4)
    ) as share_of_revenue
from "main"."dim_customers"