
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
),  __dbt__cte__int_order_payments as (
-- One row per order with the amount paid through each payment method.


select
    order_id,
    count(*) as payment_count,
    cast(sum(amount) as numeric(12, 2)) as amount_paid,
    cast(sum(case when payment_method = 'credit_card' then amount else 0 end) as numeric(12, 2)) as credit_card_amount,
    cast(sum(case when payment_method = 'bank_transfer' then amount else 0 end) as numeric(12, 2)) as bank_transfer_amount,
    cast(sum(case when payment_method = 'gift_card' then amount else 0 end) as numeric(12, 2)) as gift_card_amount,
    cast(sum(case when payment_method = 'coupon' then amount else 0 end) as numeric(12, 2)) as coupon_amount
from "main"."stg_payments"
group by order_id
),orders as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        status
    from "main"."stg_orders"
    
),

order_lines as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_quantity,
        sum(line_total) as order_total
    from __dbt__cte__int_order_items_priced
    group by order_id
),

payments as (
    select
        order_id,
        payment_count,
        amount_paid,
        credit_card_amount,
        bank_transfer_amount,
        gift_card_amount,
        coupon_amount
    from __dbt__cte__int_order_payments
)

select
    orders.order_id,
    orders.customer_id,
    orders.ordered_at,
    orders.order_date,
    orders.status,
    cast(coalesce(order_lines.line_count, 0) as integer) as line_count,
    cast(coalesce(order_lines.item_quantity, 0) as integer) as item_quantity,
    cast(coalesce(order_lines.order_total, 0) as numeric(12, 2)) as order_total,
    cast(coalesce(payments.payment_count, 0) as integer) as payment_count,
    cast(coalesce(payments.amount_paid, 0) as numeric(12, 2)) as amount_paid,
    cast(coalesce(payments.credit_card_amount, 0) as numeric(12, 2)) as credit_card_amount,
    cast(coalesce(payments.bank_transfer_amount, 0) as numeric(12, 2)) as bank_transfer_amount,
    cast(coalesce(payments.gift_card_amount, 0) as numeric(12, 2)) as gift_card_amount,
    cast(coalesce(payments.coupon_amount, 0) as numeric(12, 2)) as coupon_amount,
    cast(
        case when orders.status = 'returned' then 0 else coalesce(order_lines.order_total, 0) end
        as numeric(12, 2)
    ) as net_revenue,
    cast(
        case when coalesce(payments.amount_paid, 0) >= coalesce(order_lines.order_total, 0) then true else false end
        as boolean
    ) as is_fully_paid
from orders
left join order_lines
    on orders.order_id = order_lines.order_id
left join payments
    on orders.order_id = payments.order_id