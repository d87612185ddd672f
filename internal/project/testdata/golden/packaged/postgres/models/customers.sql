select
    customer,
    string_agg(cast(id as TEXT), ',' order by id) as order_ids,
    min(first_tag) as some_tag,
    bool_or(gift_text = 'true') as ever_gift,
    'it''s' as note
from "analytics"."stg_orders"
group by customer