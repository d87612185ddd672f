select
    customer,
    {{ dbt.listagg('cast(id as ' ~ dbt.type_string() ~ ')', "','", "order by id") }} as order_ids,
    {{ dbt.any_value('first_tag') }} as some_tag,
    {{ dbt.bool_or('gift_text = ' ~ dbt.string_literal('true')) }} as ever_gift,
    {{ dbt.string_literal(dbt.escape_single_quotes("it's")) }} as note
from {{ ref('stg_orders') }}
group by customer
