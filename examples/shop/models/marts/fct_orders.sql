{{ config(materialized='incremental', unique_key='order_id') }}

{#- One row per order with its totals and how it was paid. Incremental: later
    runs only add orders newer than the newest order already in the table. #}
with orders as (
    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        status
    from {{ ref('stg_orders') }}
    {% if is_incremental() %}
    where ordered_at > (select max(ordered_at) from {{ this }})
    {% endif %}
),

order_lines as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_quantity,
        sum(line_total) as order_total
    from {{ ref('int_order_items_priced') }}
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
    from {{ ref('int_order_payments') }}
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
