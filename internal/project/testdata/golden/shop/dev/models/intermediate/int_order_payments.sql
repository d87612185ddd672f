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