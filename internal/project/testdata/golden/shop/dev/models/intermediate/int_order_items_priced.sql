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