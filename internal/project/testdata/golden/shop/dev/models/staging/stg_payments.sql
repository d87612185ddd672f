select
    cast(id as integer) as payment_id,
    cast(order_id as integer) as order_id,
    lower(trim(payment_method)) as payment_method,
    cast(amount_cents as bigint) as amount_cents,
    cast(round(cast(amount_cents as numeric) / 100, 2) as numeric(12, 2)) as amount
from "main"."raw_payments"