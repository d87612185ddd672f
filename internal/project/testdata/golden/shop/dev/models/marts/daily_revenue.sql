

-- Revenue per order day, with a trailing seven-day total.
-- built for target dev
with daily as (
    select
        order_date,
        count(*) as order_count,
        sum(order_total) as gross_revenue,
        sum(net_revenue) as net_revenue
    from "main"."fct_orders"
    group by order_date
)

select
    order_date,
    cast(order_count as integer) as order_count,
    cast(gross_revenue as numeric(12, 2)) as gross_revenue,
    cast(net_revenue as numeric(12, 2)) as net_revenue,
    cast(
        sum(net_revenue) over (order by order_date rows between 6 preceding and current row)
        as numeric(12, 2)
    ) as net_revenue_trailing_7_days
from daily