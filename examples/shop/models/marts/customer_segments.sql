-- Customers grouped into segments by lifetime value.
{% set vip_threshold = 2500 %}
{% set regular_threshold = 750 %}

select
    customer_id,
    number_of_orders,
    lifetime_value,
    case
        when number_of_orders = 0 then 'prospect'
        when lifetime_value >= {{ vip_threshold }} then 'vip'
        when lifetime_value >= {{ regular_threshold }} then 'regular'
        else 'occasional'
    end as segment,
    cast(row_number() over (order by lifetime_value desc, customer_id) as integer) as value_rank,
    cast(
        {{ safe_divide('lifetime_value', 'sum(lifetime_value) over ()') }}
        as numeric(12, 4)
    ) as share_of_revenue
from {{ ref('dim_customers') }}
