select
    cast(id as integer) as product_id,
    trim(name) as product_name,
    lower(trim(category)) as category,
    cast(price_cents as integer) as price_cents,
    {{ cents_to_dollars('price_cents') }} as price
from {{ source('shop', 'raw_products') }}
