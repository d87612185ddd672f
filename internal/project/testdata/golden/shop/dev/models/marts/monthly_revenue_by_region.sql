-- Orders, customers and revenue per calendar month and customer region.
select
    cast(date_trunc('month', orders.ordered_at) as date) as revenue_month,
    cast(extract(year from orders.ordered_at) as integer) as revenue_year,
    customers.region,
    cast(count(*) as integer) as order_count,
    cast(count(distinct orders.customer_id) as integer) as customer_count,
    cast(sum(orders.order_total) as numeric(12, 2)) as gross_revenue,
    cast(sum(orders.net_revenue) as numeric(12, 2)) as net_revenue,
    cast((cast(sum(orders.net_revenue) as numeric) / nullif(cast(count(*) as numeric), 0)) as numeric(12, 2)) as average_order_value
from "main"."fct_orders" as orders
inner join "main"."dim_customers" as customers
    on orders.customer_id = customers.customer_id
group by 1, 2, 3