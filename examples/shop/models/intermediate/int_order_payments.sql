-- One row per order with the amount paid through each payment method.
{% set payment_methods = ['credit_card', 'bank_transfer', 'gift_card', 'coupon'] %}

select
    order_id,
    count(*) as payment_count,
    cast(sum(amount) as numeric(12, 2)) as amount_paid,
    {%- for payment_method in payment_methods %}
    cast(sum(case when payment_method = '{{ payment_method }}' then amount else 0 end) as numeric(12, 2)) as {{ payment_method }}_amount
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
from {{ ref('stg_payments') }}
group by order_id
