select
    id,
    customer,
    cast(ordered_at as date) as ordered_at,
    cast(shipped_at as date) as shipped_at,
    cast(amount as numeric(28,6)) as amount,
    split_part(tags, '|', 1) as first_tag,
    length(customer) as name_length,
    cast(is_gift as TEXT) as gift_text
from "raw"."raw_orders"