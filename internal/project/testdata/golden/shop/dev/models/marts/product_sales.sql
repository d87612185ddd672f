
with  __dbt__cte__int_order_items_priced as (
-- Order lines enriched with the product they refer to and the line total.
select
    order_items.order_item_id,
    order_items.order_id,
    order_items.product_id,
    products.product_name,
    products.category,
    order_items.quantity,
    products.price as unit_price,
    cast(order_items.quantity * products.price as numeric(12, 2)) as line_total
from "main"."stg_order_items" as order_items
inner join "main"."stg_products" as products
    on order_items.product_id = products.product_id
),sold_lines as (
    select
        items.product_id,
        items.order_id,
        items.quantity,
        items.line_total,
        orders.status
    from __dbt__cte__int_order_items_priced as items
    inner join "main"."stg_orders" as orders
        on items.order_id = orders.order_id
)

select
    products.product_id,
    products.product_name,
    products.category,
    products.price,
    cast(count(distinct sold_lines.order_id) as integer) as order_count,
    cast(coalesce(sum(sold_lines.quantity), 0) as integer) as units_sold,
    cast(
        coalesce(sum(case when sold_lines.status = 'returned' then sold_lines.quantity else 0 end), 0)
        as integer
    ) as units_returned,
    cast(coalesce(sum(sold_lines.line_total), 0) as numeric(12, 2)) as gross_revenue,
    cast(
        coalesce(sum(case when sold_lines.status = 'returned' then 0 else sold_lines.line_total end), 0)
        as numeric(12, 2)
    ) as net_revenue,
    cast(
        row_number() over (
            partition by products.category
            order by coalesce(sum(sold_lines.line_total), 0) desc, products.product_id
        ) as integer
    ) as rank_in_category
from "main"."stg_products" as products
left join sold_lines
    on products.product_id = sold_lines.product_id
group by
    products.product_id,
    products.product_name,
    products.category,
    products.price