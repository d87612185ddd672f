{{ config(materialized='table') }}

select
    {{ toolkit.surrogate_key(['customer', 'id']) }} as order_key,
    id,
    customer,
    {{ toolkit.days_between('ordered_at', 'shipped_at') }} as days_to_ship,
    {{ dbt.dateadd('day', 30, 'ordered_at') }} as due_at,
    {{ dbt.date_trunc('month', 'ordered_at') }} as order_month,
    {{ dbt.last_day('ordered_at', 'month') }} as month_end,
    amount
from {{ ref('stg_orders') }}
