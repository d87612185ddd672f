with all_values as (
    select "region" as value_field, count(*) as n_records
    from "main"."monthly_revenue_by_region"
    group by "region"
)
select value_field, n_records
from all_values
where value_field not in ('North America', 'Latin America', 'Europe', 'Asia Pacific')