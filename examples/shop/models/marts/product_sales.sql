{#- Sales per product over all orders, including products that never sold. #}
with sold_lines as (
    select
        items.product_id,
        items.order_id,
        items.quantity,
        items.line_total,
        orders.status
    from {{ ref('int_order_items_priced') }} as items
    inner join {{ ref('stg_orders') }} as orders
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
from {{ ref('stg_products') }} as products
left join sold_lines
    on products.product_id = sold_lines.product_id
group by
    products.product_id,
    products.product_name,
    products.category,
    products.price
