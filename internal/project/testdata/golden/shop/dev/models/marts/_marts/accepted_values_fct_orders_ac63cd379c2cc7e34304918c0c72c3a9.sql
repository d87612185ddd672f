with all_values as (
    select "status" as value_field, count(*) as n_records
    from "main"."fct_orders"
    group by "status"
)
select value_field, n_records
from all_values
where value_field not in ('placed', 'shipped', 'completed', 'returned')