with all_values as (
    select "segment" as value_field, count(*) as n_records
    from "main"."customer_segments"
    group by "segment"
)
select value_field, n_records
from all_values
where value_field not in ('vip', 'regular', 'occasional', 'prospect')