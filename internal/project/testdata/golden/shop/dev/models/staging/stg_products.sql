select
    cast(id as integer) as product_id,
    trim(name) as product_name,
    lower(trim(category)) as category,
    cast(price_cents as integer) as price_cents,
    cast(round(cast(price_cents as numeric) / 100, 2) as numeric(12, 2)) as price
from "main"."raw_products"