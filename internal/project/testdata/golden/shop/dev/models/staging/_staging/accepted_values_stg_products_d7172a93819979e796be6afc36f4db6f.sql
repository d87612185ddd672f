with all_values as (
    select "category" as value_field, count(*) as n_records
    from "main"."stg_products"
    group by "category"
)
select value_field, n_records
from all_values
where value_field not in ('footwear', 'apparel', 'bags', 'accessories', 'camping')