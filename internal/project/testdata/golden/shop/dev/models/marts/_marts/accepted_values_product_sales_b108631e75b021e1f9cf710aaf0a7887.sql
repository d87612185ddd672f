with all_values as (
    select "category" as value_field, count(*) as n_records
    from "main"."product_sales"
    group by "category"
)
select value_field, n_records
from all_values
where value_field not in ('footwear', 'apparel', 'bags', 'accessories', 'camping')