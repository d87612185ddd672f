select * from {{ ref('old_orders') }}
