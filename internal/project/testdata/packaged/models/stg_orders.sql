select
    id,
    customer,
    {{ dbt.safe_cast('ordered_at', api.Column.translate_type('date')) }} as ordered_at,
    {{ dbt.safe_cast('shipped_at', api.Column.translate_type('date')) }} as shipped_at,
    {{ dbt.cast('amount', dbt.type_numeric()) }} as amount,
    {{ dbt.split_part('tags', "'|'", 1) }} as first_tag,
    {{ dbt.length('customer') }} as name_length,
    {{ dbt.cast_bool_to_text('is_gift') }} as gift_text
from {{ ref('raw_orders') }}
