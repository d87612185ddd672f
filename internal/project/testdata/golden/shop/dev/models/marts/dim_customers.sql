

-- One row per customer with their ordering history and lifetime value.
with customers as (
    select
        customer_id,
        first_name,
        last_name,
        email,
        country_code,
        created_at
    from "main"."stg_customers"
),

countries as (
    select
        country_code,
        country_name,
        region
    from "main"."country_codes"
),

customer_orders as (
    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as most_recent_order_date,
        count(*) as number_of_orders,
        sum(case when status = 'returned' then 1 else 0 end) as number_of_returns,
        sum(net_revenue) as lifetime_value
    from "main"."fct_orders"
    group by customer_id
)

select
    customers.customer_id,
    customers.first_name,
    customers.last_name,
    customers.first_name || ' ' || customers.last_name as full_name,
    customers.email,
    customers.country_code,
    coalesce(countries.country_name, 'Unknown') as country_name,
    coalesce(countries.region, 'Unknown') as region,
    customers.created_at,
    customer_orders.first_order_date,
    customer_orders.most_recent_order_date,
    cast(coalesce(customer_orders.number_of_orders, 0) as integer) as number_of_orders,
    cast(coalesce(customer_orders.number_of_returns, 0) as integer) as number_of_returns,
    cast(coalesce(customer_orders.lifetime_value, 0) as numeric(12, 2)) as lifetime_value,
    cast(
        (cast(customer_orders.lifetime_value as numeric) / nullif(cast(customer_orders.number_of_orders as numeric), 0))
        as numeric(12, 2)
    ) as average_order_value
from customers
left join countries
    on customers.country_code = countries.country_code
left join customer_orders
    on customers.customer_id = customer_orders.customer_id